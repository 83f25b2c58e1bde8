// `watershed dlq list|show|redrive`, run for real as child processes against a private DLQ.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { stringify } from "yaml";
import { getDeadLetter } from "../../broker/dlq/index.ts";
import type { DeadLetter } from "../../broker/nats/envelope.ts";
import { ensureTopology, topology, type Topology } from "../../broker/nats/topology.ts";
import { assertExit, describeRun, runCli } from "../helpers/cli.ts";
import { publishDeadLetter, publishUnreadable, sampleDeadLetter } from "../helpers/dead-letters.ts";
import { deleteStreams, natsUrl, randomPrefix } from "../helpers/services.ts";

const partitions = 4;

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("watershed dlq", () => {
  const prefix = randomPrefix();
  let dir: string;
  let configFile: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let topo: Topology;
  const letters: DeadLetter[] = [];
  const seqs: number[] = [];
  let unreadableSeq: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "watershed-dlq-cli-"));
    configFile = join(dir, "watershed.yaml");
    await writeFile(configFile, stringify({ nats: { servers: [natsUrl], prefix, partitions } }));
    nc = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(nc);
    topo = topology(prefix, partitions);
    await ensureTopology(jsm, topo, {
      duplicateWindowMs: 120_000,
      maxIngressBacklog: 1000,
      ackWaitMs: 3000,
      replicas: 1,
    });
    const js = jetstream(nc);
    for (const connector of ["webhook", "slack", "webhook", "slack"]) {
      const letter = sampleDeadLetter({ connector, text: `private words for ${connector}` });
      letters.push(letter);
      seqs.push(await publishDeadLetter(js, topo, letter));
    }
    unreadableSeq = await publishUnreadable(js, topo);
  });

  after(async () => {
    await nc?.close();
    await deleteStreams(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  const dlq = (...args: string[]) => runCli(["dlq", ...args, "--config", configFile]);

  // In order: the redrive tests change what the list and show tests read.
  test("list prints one JSON line per letter, without the text", async () => {
    const result = await dlq("list");
    assertExit(result, 0);
    assert.doesNotMatch(result.stdout, /private words/);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(
      lines.map((l) => [l.seq, l.connector, l.reason]),
      [
        ...seqs.map((seq, i) => [seq, letters[i]?.connector, letters[i]?.reason]),
        [unreadableSeq, null, "unreadable"],
      ],
    );
    assert.equal(lines[0]?.messageId, letters[0]?.envelope.message.id);
    assert.equal(result.stderr, "");
  });

  test("list --limit --connector pages and says where the next page starts", async () => {
    const result = await dlq("list", "--limit", "1", "--connector", "slack");
    assertExit(result, 0);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => l.seq),
      [seqs[1]],
    );
    assert.match(result.stderr, new RegExp(`--after ${seqs[1]}\\b`));
  });

  test("show prints the whole letter as one JSON object; an unknown seq fails naming it", async () => {
    const [shown, unknown] = await Promise.all([dlq("show", String(seqs[0])), dlq("show", "999999")]);
    assertExit(shown, 0);
    assert.deepEqual(JSON.parse(shown.stdout), {
      seq: seqs[0],
      storedAt: (JSON.parse(shown.stdout) as { storedAt: string }).storedAt,
      letter: letters[0],
    });
    assertExit(unknown, 1);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /no dead letter with seq 999999/);
  });

  test("redrive <seq> puts the envelope on RELAY and removes it from the DLQ", async () => {
    const seq = seqs[0] as number;
    const result = await dlq("redrive", String(seq));
    assertExit(result, 0);
    const [redriven, summary, ...rest] = jsonLines(result.stdout);
    assert.equal(rest.length, 0, describeRun(result));
    assert.equal(redriven?.seq, seq);
    assert.equal(redriven?.messageId, letters[0]?.envelope.message.id);
    assert.deepEqual(summary, { redriven: 1, missing: [], unreadable: [] });
    const onRelay = await jsm.streams.getMessage(topo.streams.relay, { seq: redriven?.relaySeq as number });
    assert.ok(onRelay, "the envelope is on RELAY");
    assert.equal(onRelay.subject, redriven?.relaySubject);
    assert.equal(await getDeadLetter({ js: jetstream(nc), jsm, topo }, seq), null, "the DLQ entry is gone");
  });

  test("redrive of an unknown seq fails naming it, after redriving the others", async () => {
    const result = await dlq("redrive", String(seqs[0]), String(seqs[2]));
    assertExit(result, 1);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(
      lines.map((l) => l.seq ?? "summary"),
      [seqs[2], "summary"],
    );
    assert.match(result.stderr, new RegExp(`no dead letter with seq ${seqs[0]}\\b`));
  });

  test("redrive --all --connector redrives only that connector's letters", async () => {
    const result = await dlq("redrive", "--all", "--connector", "slack");
    assertExit(result, 0);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(
      lines.map((l) => l.seq ?? "summary"),
      [seqs[1], seqs[3], "summary"],
    );
    const left = jsonLines((await dlq("list")).stdout).map((l) => l.seq);
    assert.deepEqual(left, [unreadableSeq]);
  });

  test("redrive without seqs or --all, or with both, is refused", async () => {
    const [neither, both, bad] = await Promise.all([
      dlq("redrive"),
      dlq("redrive", "--all", "7"),
      dlq("redrive", "seven"),
    ]);
    for (const result of [neither, both, bad]) {
      assertExit(result, 1);
      assert.equal(result.stdout, "");
    }
    assert.match(neither.stderr, /--all/);
    assert.match(bad.stderr, /sequence number/);
  });

  test("a prefix without streams is named, not a stack trace", async () => {
    const other = join(dir, "other-prefix.yaml");
    const missing = randomPrefix();
    await writeFile(other, stringify({ nats: { servers: [natsUrl], prefix: missing, partitions } }));
    const result = await runCli(["dlq", "list", "--config", other]);
    assertExit(result, 1);
    assert.match(result.stderr, new RegExp(`^no stream ${missing.toUpperCase()}_DLQ: check nats.prefix`));
  });
});
