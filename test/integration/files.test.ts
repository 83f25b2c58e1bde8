// Files end to end, on real NATS and PostgreSQL, with the fake Slack as the cloud, once with the
// NATS object store and once with an S3 store (s3rver): uploads are inspected and kept on-prem,
// released to Slack only when clean, brought in from Slack and retracted when sensitive; a cut-off
// upload leaves nothing; only members download, and only the stored bytes, checked.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { filesBucketStream, openNatsObjectStore } from "../../broker/files/store/index.ts";
import { waitUntil } from "../helpers/api.ts";
import { makeCardCsv, makeDocx, makePdf, makePng, residentId } from "../helpers/documents.ts";
import { blockPolicyFile, retractPolicyFile } from "../helpers/policies.ts";
import { filesSettings, s3Client, startS3rver, type TestS3 } from "../helpers/s3.ts";
import { natsUrl } from "../helpers/services.ts";
import { startSlackSetup, type SlackSetup } from "../helpers/slack-broker.ts";

interface FileView {
  id: string;
  size: number;
  sha256: string;
  mediaType: string;
  inspection: { inspectable: boolean; reason: string | null };
}

/** A channel's messages other than the broker's "continues on-prem" notice. */
function withoutNotices<T extends { metadata: { event_type: string } | null }>(messages: T[]): T[] {
  return messages.filter((m) => m.metadata?.event_type !== "watershed_notice");
}

for (const storeKind of ["nats", "s3"] as const) {
  describe(`files, ${storeKind} store`, () => {
    let setup: SlackSetup;
    let s3: TestS3 | null = null;

    before(async () => {
      s3 = storeKind === "s3" ? await startS3rver() : null;
      setup = await startSlackSetup({
        overrides: {
          policy: { file: await retractPolicyFile() },
          files: filesSettings(s3),
        },
      });
    });
    after(async () => {
      await setup?.close();
      await s3?.close();
    });

    async function upload(conversationId: string, name: string, bytes: Buffer, token?: string) {
      const api = token ? setup.api.as(token) : setup.api;
      const response = await fetch(
        `${api.baseUrl}/v1/conversations/${conversationId}/files?name=${encodeURIComponent(name)}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${api.token}`, "content-type": "application/octet-stream" },
          body: bytes,
        },
      );
      return { status: response.status, body: (await response.json()) as FileView & { type?: string } };
    }

    async function uploaded(conversationId: string, name: string, bytes: Buffer): Promise<FileView> {
      const response = await upload(conversationId, name, bytes);
      assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
      return response.body;
    }

    /** Objects in the store: chunks of the NATS bucket, or keys in the S3 bucket. */
    async function objectCount(): Promise<number> {
      if (s3) {
        const client = s3Client(s3);
        const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
        client.destroy();
        return listed.KeyCount ?? 0;
      }
      const nc = await connect({ servers: natsUrl });
      try {
        const jsm = await jetstreamManager(nc);
        return (await jsm.streams.info(filesBucketStream(setup.prefix))).state.messages;
      } finally {
        await nc.close();
      }
    }

    async function fileRows(): Promise<number> {
      return Number((await setup.db.pool.query("SELECT count(*) FROM files")).rows[0].count);
    }

    test("an upload is stored, typed from its bytes, kept once per conversation, and downloaded intact", async () => {
      const { conversationId } = await setup.boundConversation(`roundtrip-${storeKind}`);
      const bytes = Buffer.from("# Minutes\n\n1. budget\n2. hiring\n");
      const file = await uploaded(conversationId, "minutes.md", bytes);
      assert.equal(file.size, bytes.length);
      assert.equal(file.mediaType, "text/markdown");
      assert.deepEqual(file.inspection, { inspectable: true, reason: null });
      const again = await upload(conversationId, "copy.md", bytes);
      assert.equal(again.status, 200, "the same bytes again: the stored file, not a second copy");
      assert.equal(again.body.id, file.id);

      const download = await fetch(`${setup.api.baseUrl}/v1/files/${file.id}`, {
        headers: { authorization: `Bearer ${setup.api.token}` },
      });
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
      assert.equal(download.headers.get("x-content-type-options"), "nosniff");
    });

    test("50 card numbers in a CSV never reach Slack and turn the conversation sensitive; invalid ones are released", async () => {
      const { slack, api } = setup;
      const secret = await setup.boundConversation(`cards-${storeKind}`);
      const cards = await uploaded(secret.conversationId, "customers.csv", makeCardCsv(50, true));
      assert.equal(cards.mediaType, "text/csv");
      await api.post(secret.conversationId, { text: "the export", attachments: [cards.id] });

      const clean = await setup.boundConversation(`not-cards-${storeKind}`);
      const fakeCards = makeCardCsv(50, false);
      const notCards = await uploaded(clean.conversationId, "customers.csv", fakeCards);
      await api.post(clean.conversationId, { text: "the test export", attachments: [notCards.id] });

      await waitUntil(
        async () => slack.messages(clean.channel).length === 1,
        15_000,
        "the clean file in Slack",
      );
      const shared = slack.messages(clean.channel)[0];
      assert.equal(shared?.files.length, 1);
      assert.equal(shared.text, "the test export");
      assert.deepEqual(slack.fileBytes(shared.files[0]?.id ?? ""), fakeCards, "the same bytes");

      await waitUntil(
        async () => setup.api.isSensitive(secret.conversationId),
        10_000,
        "the conversation to turn sensitive",
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(withoutNotices(slack.messages(secret.channel)), [], "nothing of it in Slack");
      assert.ok(
        !slack.calls().some((c) => c.channel === secret.channel && /^files\./.test(c.method)),
        "no file call for its channel at all",
      );
    });

    test("a DOCX and a PDF with a resident ID are caught; a PNG is kept on-prem", async () => {
      const cases = [
        {
          name: "contract.docx",
          bytes: makeDocx(["Contract", `Party ID: ${residentId}`]),
          type: /wordprocessingml/,
        },
        { name: "scan.pdf", bytes: makePdf(["Applicant", `ID ${residentId}`]), type: /^application\/pdf$/ },
        { name: "photo.png", bytes: makePng(), type: /^image\/png$/ },
      ];
      for (const c of cases) {
        const { conversationId, channel } = await setup.boundConversation(`${c.name}-${storeKind}`);
        const file = await uploaded(conversationId, c.name, c.bytes);
        assert.match(file.mediaType, c.type, c.name);
        assert.equal(file.inspection.inspectable, c.name !== "photo.png", `${c.name}: inspectable`);
        await setup.api.post(conversationId, { text: "", attachments: [file.id] });
        await waitUntil(async () => setup.api.isSensitive(conversationId), 10_000, `${c.name}: sensitive`);
        assert.deepEqual(withoutNotices(setup.slack.messages(channel)), [], `${c.name}: not in Slack`);
      }
    });

    test("an upload cut off half-way leaves no object and no row", async () => {
      const { conversationId } = await setup.boundConversation(`cut-${storeKind}`);
      const [objectsBefore, rowsBefore] = [await objectCount(), await fileRows()];
      const url = new URL(`${setup.api.baseUrl}/v1/conversations/${conversationId}/files?name=big.bin`);
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, {
          method: "POST",
          headers: {
            authorization: `Bearer ${setup.api.token}`,
            "content-type": "application/octet-stream",
            "content-length": String(8 * 1024 * 1024),
          },
        });
        req.on("error", () => resolve());
        req.on("response", () => resolve());
        req.write(Buffer.alloc(4 * 1024 * 1024, 7), () => setTimeout(() => req.destroy(), 300));
      });
      await waitUntil(async () => (await objectCount()) === objectsBefore, 10_000, "no object left behind");
      assert.equal(await fileRows(), rowsBefore, "no row");
    });

    test("only members download; a file of another conversation cannot be attached", async () => {
      const { conversationId } = await setup.boundConversation(`members-${storeKind}`);
      const other = await setup.boundConversation(`others-${storeKind}`);
      const file = await uploaded(conversationId, "plan.txt", Buffer.from("the plan"));
      const mallory = await setup.keys.token("mallory");
      for (const path of [`/v1/files/${file.id}`, `/v1/files/${file.id}/info`]) {
        const response = await setup.api.as(mallory).request("GET", path);
        assert.equal(response.status, 404, path);
        assert.equal(response.body.type, "urn:watershed:problem:file-not-found");
      }
      const attached = await setup.api.request("POST", `/v1/conversations/${other.conversationId}/messages`, {
        text: "look",
        attachments: [file.id],
      });
      assert.equal(attached.status, 422);
      assert.equal(attached.body.type, "urn:watershed:problem:invalid-attachment");
    });

    test("a stored object that no longer matches its SHA-256 is never served whole", async () => {
      const { conversationId } = await setup.boundConversation(`tamper-${storeKind}`);
      const bytes = Buffer.from("original content, 32 bytes long!");
      const file = await uploaded(conversationId, "note.txt", bytes);
      const tampered = Buffer.from("tampered content, 32 bytes long!");
      if (s3) {
        const client = s3Client(s3);
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: file.id, Body: tampered }));
        client.destroy();
      } else {
        const nc = await connect({ servers: natsUrl });
        const store = await openNatsObjectStore({ js: jetstream(nc), prefix: setup.prefix, replicas: 1 });
        await store.put(file.id, Readable.from([tampered]));
        await store.close();
        await nc.close();
      }
      const received = await fetch(`${setup.api.baseUrl}/v1/files/${file.id}`, {
        headers: { authorization: `Bearer ${setup.api.token}` },
      })
        .then(async (response) => Buffer.from(await response.arrayBuffer()))
        .catch((error: unknown) => error as Error);
      assert.ok(
        !(Buffer.isBuffer(received) && received.equals(tampered)),
        "the tampered bytes are not served whole",
      );
    });

    test("a file shared in Slack is brought on-prem and inspected; a sensitive one is retracted", async () => {
      const { slack, aliceSlack } = setup;
      const { conversationId, channel } = await setup.boundConversation(`inbound-${storeKind}`);
      const clean = await slack.shareFileAsUser(aliceSlack, channel, {
        name: "agenda.txt",
        bytes: "1. budget\n2. hiring\n",
      });
      assert.equal(clean.status, 200);
      const leaked = await slack.shareFileAsUser(aliceSlack, channel, {
        name: "cards.csv",
        bytes: makeCardCsv(5, true),
      });
      assert.equal(leaked.status, 200);
      await waitUntil(
        async () => setup.api.isSensitive(conversationId),
        15_000,
        "the conversation to turn sensitive",
      );
      const rows = await setup.db.pool.query<{ name: string; inspectable: boolean }>(
        "SELECT name, inspectable FROM files WHERE conversation_id = $1 ORDER BY created_at",
        [conversationId],
      );
      assert.deepEqual(
        rows.rows.map((r) => [r.name, r.inspectable]),
        [
          ["agenda.txt", true],
          ["cards.csv", true],
        ],
      );
      await waitUntil(
        async () => slack.deleted(channel).includes(leaked.ts),
        15_000,
        "the card file's message retracted",
      );
      assert.ok(slack.deleted(channel).includes(clean.ts), "the retraction takes the whole conversation");
    });
  });
}

describe("files under a policy that blocks", () => {
  let setup: SlackSetup;

  before(async () => {
    setup = await startSlackSetup({ overrides: { policy: { file: await blockPolicyFile() } } });
  });
  after(async () => {
    await setup?.close();
  });

  test("a file the policy blocks is refused with the rule's reason, and nothing is kept", async () => {
    const { conversationId } = await setup.boundConversation("blocked");
    const response = await fetch(
      `${setup.api.baseUrl}/v1/conversations/${conversationId}/files?name=cards.csv`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${setup.api.token}`, "content-type": "text/csv" },
        body: makeCardCsv(3, true),
      },
    );
    const problem = (await response.json()) as { type: string; detail: string };
    assert.equal(response.status, 422);
    assert.equal(problem.type, "urn:watershed:problem:file-blocked");
    assert.match(problem.detail, /blocked by test policy/);
    const rows = await setup.db.pool.query("SELECT 1 FROM files WHERE conversation_id = $1", [
      conversationId,
    ]);
    assert.equal(rows.rowCount, 0);
    const clean = await fetch(`${setup.api.baseUrl}/v1/conversations/${conversationId}/files?name=ok.csv`, {
      method: "POST",
      headers: { authorization: `Bearer ${setup.api.token}`, "content-type": "text/csv" },
      body: makeCardCsv(3, false),
    });
    assert.equal(clean.status, 201, "a clean file under the same policy is taken");
  });
});

describe("files that cannot be had, and downloads given up", () => {
  let setup: SlackSetup;
  const maxBytes = 4 * 1024 * 1024;

  before(async () => {
    setup = await startSlackSetup({ overrides: { files: { maxBytes } } });
  });
  after(async () => {
    await setup?.close();
  });

  test("a Slack file over the limit does not lose its message: a placeholder keeps it on-prem", async () => {
    const { slack, aliceSlack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("too-big-from-slack");
    const shared = await slack.shareFileAsUser(aliceSlack, channel, {
      name: "export.bin",
      bytes: Buffer.alloc(maxBytes + 1, 1),
    });
    assert.equal(shared.status, 200, "the event is taken, not refused");
    await waitUntil(
      async () => api.isSensitive(conversationId),
      15_000,
      "the conversation to turn sensitive",
    );
    const history = await api.request<{ messages: Array<{ attachments: string[] }> }>(
      "GET",
      `/v1/conversations/${conversationId}/messages`,
    );
    const [message] = history.body.messages;
    assert.equal(message?.attachments.length, 1, "the message is kept, with its file named");
    const info = await api.request<{ size: number; inspection: { inspectable: boolean; reason: string } }>(
      "GET",
      `/v1/files/${message.attachments[0]}/info`,
    );
    assert.deepEqual(info.body.inspection, {
      inspectable: false,
      reason: "could not be brought in from the cloud",
    });
  });

  test("a download the client gives up on releases the store's stream", async () => {
    const { api } = setup;
    const { conversationId } = await setup.boundConversation("given-up");
    const upload = await fetch(`${api.baseUrl}/v1/conversations/${conversationId}/files?name=big.bin`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.token}`, "content-type": "application/octet-stream" },
      body: Buffer.alloc(3 * 1024 * 1024, 9),
    });
    const { id } = (await upload.json()) as { id: string };
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const consumers = async () => (await jsm.consumers.list(filesBucketStream(setup.prefix)).next()).length;
      for (let i = 0; i < 5; i++) {
        const abort = new AbortController();
        const response = await fetch(`${api.baseUrl}/v1/files/${id}`, {
          headers: { authorization: `Bearer ${api.token}` },
          signal: abort.signal,
        });
        const reader = response.body?.getReader();
        await reader?.read();
        abort.abort();
      }
      await waitUntil(async () => (await consumers()) === 0, 10_000, "the store's readers to be released");
    } finally {
      await nc.close();
    }
  });
});
