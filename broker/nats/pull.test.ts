// The puller against the real NATS server: one message per pull, the ack protocol, redelivery
// counts, an empty pull, stopping, and a consumer that does not exist.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { natsUrl, randomPrefix } from "../../test/helpers/services.ts";
import { createPuller, PullStatusError, type Delivery } from "./pull.ts";

const prefix = randomPrefix();
const stream = `${prefix.toUpperCase()}_PULL`;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: natsUrl });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.pull.*`] });
});
after(async () => {
  await jsm.streams.delete(stream);
  await nc.close();
});

async function consumer(name: string): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 1,
    ack_wait: 30_000_000_000,
    filter_subject: `${prefix}.pull.${name}`,
  });
}

const never = new AbortController().signal;
const text = (delivery: Delivery | null) => new TextDecoder().decode(delivery?.data);

test("messages come one per pull, in order, with their sequence, subject and headers", async () => {
  await consumer("order");
  const js = jetstream(nc);
  const h = headers();
  h.set("traceparent", "00-abc-def-01");
  const first = await js.publish(`${prefix}.pull.order`, "one", { headers: h });
  await js.publish(`${prefix}.pull.order`, "two");
  const puller = createPuller(nc, stream, "order");
  try {
    const one = await puller.next(2000, never);
    assert.equal(text(one), "one");
    assert.equal(one?.seq, first.seq);
    assert.equal(one?.subject, `${prefix}.pull.order`);
    assert.equal(one?.headers?.get("traceparent"), "00-abc-def-01");
    assert.equal(one?.info.deliveryCount, 1);
    one?.ack();
    const two = await puller.next(2000, never);
    assert.equal(text(two), "two");
    two?.ack();
    assert.equal(await puller.next(1000, never), null, "nothing left: the pull ends empty");
  } finally {
    puller.close();
  }
  const info = await jsm.consumers.info(stream, "order");
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.delivered.stream_seq, first.seq + 1);
});

test("a nak redelivers with a higher count; a term does not; the first answer stands", async () => {
  await consumer("answers");
  const js = jetstream(nc);
  await js.publish(`${prefix}.pull.answers`, "again");
  await js.publish(`${prefix}.pull.answers`, "after");
  const puller = createPuller(nc, stream, "answers");
  try {
    const first = await puller.next(2000, never);
    first?.working();
    first?.nak();
    first?.ack(); // ignored: the nak was the answer
    const redelivered = await puller.next(2000, never);
    assert.equal(text(redelivered), "again");
    assert.equal(redelivered?.info.deliveryCount, 2);
    redelivered?.term();
    const next = await puller.next(2000, never);
    assert.equal(text(next), "after", "the terminated message is not delivered again");
    next?.ack();
  } finally {
    puller.close();
  }
});

test("stopping ends a waiting pull at once", async () => {
  await consumer("stopping");
  const puller = createPuller(nc, stream, "stopping");
  const stop = new AbortController();
  const started = Date.now();
  setTimeout(() => stop.abort(), 100);
  try {
    assert.equal(await puller.next(10_000, stop.signal), null);
    assert.ok(Date.now() - started < 5000, "returned long after the abort");
  } finally {
    puller.close();
  }
});

test("a consumer that does not exist is an error, not an endless wait", async () => {
  const puller = createPuller(nc, stream, "missing");
  try {
    await assert.rejects(puller.next(1000, never), PullStatusError);
  } finally {
    puller.close();
  }
});
