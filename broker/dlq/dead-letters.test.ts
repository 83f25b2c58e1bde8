// Dead letters on a real NATS: listing pages without message text, showing one entry, redriving
// to the RELAY subject of the conversation's partition, missing seqs and unreadable entries.
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  conversationInPartition,
  publishDeadLetter,
  publishUnreadable,
  sampleDeadLetter,
} from "../../test/helpers/dead-letters.ts";
import { deleteStreams, natsUrl, randomPrefix } from "../../test/helpers/services.ts";
import { decode, RoutedEnvelope } from "../nats/envelope.ts";
import { ensureTopology, topology } from "../nats/topology.ts";
import {
  getDeadLetter,
  listDeadLetters,
  redrive,
  redriveHeader,
  unreadableReason,
  type DlqDeps,
} from "./index.ts";

const partitions = 4;
const settings = { duplicateWindowMs: 120_000, maxIngressBacklog: 1000, ackWaitMs: 3000, replicas: 1 };

describe("dead letters", () => {
  let nc: NatsConnection;
  let deps: DlqDeps;
  const prefixes: string[] = [];

  beforeEach(async () => {
    nc ??= await connect({ servers: natsUrl });
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const jsm = await jetstreamManager(nc);
    const topo = topology(prefix, partitions);
    await ensureTopology(jsm, topo, settings);
    deps = { js: jetstream(nc), jsm, topo };
  });

  afterEach(async () => {
    await deleteStreams(prefixes.at(-1) ?? "");
  });

  after(async () => {
    await nc?.close();
  });

  const dlqCount = async () => (await deps.jsm.streams.info(deps.topo.streams.dlq)).state.messages;

  test("an empty DLQ lists nothing", async () => {
    assert.deepEqual(await listDeadLetters(deps, { limit: 10 }), { deadLetters: [], next: null });
  });

  test("lists summaries in order, in pages, without the message text", async () => {
    const letters = [
      sampleDeadLetter({ connector: "webhook", text: "secret-ish body one" }),
      sampleDeadLetter({ connector: "slack", text: "secret-ish body two" }),
      sampleDeadLetter({ connector: "webhook", text: "secret-ish body three" }),
    ];
    const seqs: number[] = [];
    for (const letter of letters) seqs.push(await publishDeadLetter(deps.js, deps.topo, letter));

    const all = await listDeadLetters(deps, { limit: 10 });
    assert.equal(all.next, null);
    assert.deepEqual(
      all.deadLetters,
      letters.map((letter, i) => ({
        seq: seqs[i],
        messageId: letter.envelope.message.id,
        conversationId: letter.envelope.message.conversationId,
        connector: letter.connector,
        reason: letter.reason,
        attempts: letter.attempts,
        failedAt: letter.failedAt,
      })),
    );
    assert.doesNotMatch(JSON.stringify(all), /secret-ish/);

    const first = await listDeadLetters(deps, { limit: 2 });
    assert.deepEqual(
      first.deadLetters.map((l) => l.seq),
      seqs.slice(0, 2),
    );
    assert.equal(first.next, seqs[1]);
    const second = await listDeadLetters(deps, { limit: 2, afterSeq: first.next ?? 0 });
    assert.deepEqual(
      second.deadLetters.map((l) => l.seq),
      seqs.slice(2),
    );
    assert.equal(second.next, null);

    const webhook = await listDeadLetters(deps, { limit: 1, connector: "webhook" });
    assert.deepEqual(
      webhook.deadLetters.map((l) => l.seq),
      [seqs[0]],
    );
    assert.equal(webhook.next, seqs[0], "one more webhook letter follows");
    const rest = await listDeadLetters(deps, { limit: 1, connector: "webhook", afterSeq: webhook.next ?? 0 });
    assert.deepEqual(
      rest.deadLetters.map((l) => l.seq),
      [seqs[2]],
    );
    assert.equal(rest.next, null);
    const { state } = await deps.jsm.streams.info(deps.topo.streams.dlq);
    assert.equal(state.consumer_count, 0, "listing leaves no consumer behind");
  });

  test("shows one letter in full, and null for a seq with nothing", async () => {
    const letter = sampleDeadLetter({ text: "the full text" });
    const seq = await publishDeadLetter(deps.js, deps.topo, letter);
    const entry = await getDeadLetter(deps, seq);
    assert.ok(entry);
    assert.equal(entry.seq, seq);
    assert.deepEqual(entry.letter, letter);
    assert.ok(!Number.isNaN(Date.parse(entry.storedAt)));
    assert.equal(await getDeadLetter(deps, seq + 100), null);
  });

  test("redrive publishes to the RELAY subject of the conversation's partition and removes the entry", async () => {
    const conversationId = conversationInPartition(3, partitions);
    const letter = sampleDeadLetter({ conversationId });
    const other = sampleDeadLetter({ conversationId: conversationInPartition(1, partitions) });
    const seq = await publishDeadLetter(deps.js, deps.topo, letter);
    const otherSeq = await publishDeadLetter(deps.js, deps.topo, other);

    const report = await redrive(deps, [seq]);
    assert.deepEqual(report.missing, []);
    assert.deepEqual(report.unreadable, []);
    assert.equal(report.redriven.length, 1);
    const [redriven] = report.redriven;
    assert.ok(redriven);
    assert.equal(redriven.seq, seq);
    assert.equal(redriven.messageId, letter.envelope.message.id);
    assert.equal(redriven.relaySubject, deps.topo.relaySubject(3));

    const stored = await deps.jsm.streams.getMessage(deps.topo.streams.relay, { seq: redriven.relaySeq });
    assert.ok(stored, "the envelope is on RELAY");
    assert.equal(stored.subject, deps.topo.relaySubject(3));
    assert.equal(stored.header.get(redriveHeader), String(seq));
    assert.deepEqual(decode(RoutedEnvelope, stored.data), letter.envelope);

    assert.equal(await getDeadLetter(deps, seq), null, "the DLQ entry is gone");
    assert.deepEqual(
      (await listDeadLetters(deps, { limit: 10 })).deadLetters.map((l) => l.seq),
      [otherSeq],
    );
  });

  test("a second redrive of the same letter after it failed again is not dropped as a duplicate", async () => {
    const letter = sampleDeadLetter();
    const first = await publishDeadLetter(deps.js, deps.topo, letter);
    await redrive(deps, [first]);
    // The relay dead-letters the redriven copy again: the same letter under a new DLQ seq.
    const again = (
      await deps.js.publish(deps.topo.dlqSubject(0), new TextEncoder().encode(JSON.stringify(letter)))
    ).seq;
    const report = await redrive(deps, [again]);
    assert.equal(report.redriven.length, 1);
    const relay = await deps.jsm.streams.info(deps.topo.streams.relay);
    assert.equal(relay.state.messages, 2, "both redrives reached RELAY");
  });

  test("redrive of a missing seq reports it and touches nothing", async () => {
    const letter = sampleDeadLetter();
    const seq = await publishDeadLetter(deps.js, deps.topo, letter);
    const report = await redrive(deps, [seq + 50, seq, seq + 50, 0]);
    assert.deepEqual(report.missing, [0, seq + 50]);
    assert.deepEqual(
      report.redriven.map((r) => r.seq),
      [seq],
    );
    const again = await redrive(deps, [seq]);
    assert.deepEqual(again, { redriven: [], missing: [seq], unreadable: [] });
    assert.equal((await deps.jsm.streams.info(deps.topo.streams.relay)).state.messages, 1);
  });

  test("an unreadable entry is listed as such, shown without a letter, and never redriven", async () => {
    const good = await publishDeadLetter(deps.js, deps.topo, sampleDeadLetter());
    const bad = await publishUnreadable(deps.js, deps.topo);
    const page = await listDeadLetters(deps, { limit: 10 });
    assert.deepEqual(
      page.deadLetters.map((l) => [l.seq, l.reason]),
      [
        [good, "webhook answered 400"],
        [bad, unreadableReason],
      ],
    );
    const unreadable = page.deadLetters[1];
    assert.equal(unreadable?.messageId, null);
    assert.equal(unreadable?.connector, null);
    assert.equal((await getDeadLetter(deps, bad))?.letter, null);

    assert.deepEqual(
      (await listDeadLetters(deps, { limit: 10, connector: "webhook" })).deadLetters.map((l) => l.seq),
      [good],
      "an unreadable entry matches no connector",
    );
    const report = await redrive(deps, "all");
    assert.deepEqual(
      report.redriven.map((r) => r.seq),
      [good],
    );
    assert.deepEqual(report.unreadable, [bad]);
    assert.equal(await dlqCount(), 1, "the unreadable entry stays in the DLQ");
  });

  test("redrive all with a connector leaves other connectors' letters, in DLQ order", async () => {
    const conversationId = conversationInPartition(2, partitions);
    const seqs = [
      await publishDeadLetter(deps.js, deps.topo, sampleDeadLetter({ conversationId, connector: "slack" })),
      await publishDeadLetter(deps.js, deps.topo, sampleDeadLetter({ conversationId, connector: "webhook" })),
      await publishDeadLetter(deps.js, deps.topo, sampleDeadLetter({ conversationId, connector: "slack" })),
    ];
    const report = await redrive(deps, "all", { connector: "slack" });
    assert.deepEqual(
      report.redriven.map((r) => r.seq),
      [seqs[0], seqs[2]],
    );
    assert.ok((report.redriven[0]?.relaySeq ?? 0) < (report.redriven[1]?.relaySeq ?? 0), "order kept");
    assert.deepEqual(
      (await listDeadLetters(deps, { limit: 10 })).deadLetters.map((l) => l.seq),
      [seqs[1]],
    );
    const explicit = await redrive(deps, [seqs[1] as number], { connector: "slack" });
    assert.deepEqual(explicit.missing, [seqs[1]], "another connector's letter counts as missing");
    assert.equal(await dlqCount(), 1);
  });

  test("lists past entries deleted in the middle of the stream", async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) seqs.push(await publishDeadLetter(deps.js, deps.topo, sampleDeadLetter()));
    await redrive(deps, [seqs[1], seqs[2], seqs[4]] as number[]);
    const page = await listDeadLetters(deps, { limit: 2, afterSeq: seqs[0] });
    assert.deepEqual(
      page.deadLetters.map((l) => l.seq),
      [seqs[3], seqs[5]],
    );
    assert.equal(page.next, null);
    assert.deepEqual(await listDeadLetters(deps, { limit: 5, afterSeq: seqs[5] }), {
      deadLetters: [],
      next: null,
    });
  });
});
