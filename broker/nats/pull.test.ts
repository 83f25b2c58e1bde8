// The puller against the real NATS server: one message per pull, the ack protocol, redelivery
// counts, an empty pull, stopping (and a delivery that comes after it), and a consumer that does
// not exist.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AckPolicy, jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { waitUntil } from "../../test/helpers/api.ts";
import { createTestStream, type TestStream } from "../../test/helpers/services.ts";
import { createPuller, PullStatusError, type Delivery } from "./pull.ts";

let stream: TestStream;

before(async () => {
  stream = await createTestStream("pull");
});
after(() => stream.drop());

async function consumer(name: string): Promise<void> {
  await stream.jsm.consumers.add(stream.name, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 1,
    ack_wait: 30_000_000_000,
    filter_subject: stream.subject(name),
  });
}

const never = new AbortController().signal;
const text = (delivery: Delivery | null) => new TextDecoder().decode(delivery?.data);

test("messages come one per pull, in order, with their sequence, subject and headers", async () => {
  await consumer("order");
  const js = jetstream(stream.nc);
  const h = headers();
  h.set("traceparent", "00-abc-def-01");
  const first = await js.publish(stream.subject("order"), "one", { headers: h });
  await js.publish(stream.subject("order"), "two");
  const puller = createPuller(stream.nc, stream.name, "order");
  try {
    const one = await puller.next(2000, never);
    assert.equal(text(one), "one");
    assert.equal(one?.seq, first.seq);
    assert.equal(one?.subject, stream.subject("order"));
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
  const info = await stream.jsm.consumers.info(stream.name, "order");
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.delivered.stream_seq, first.seq + 1);
});

test("a nak redelivers with a higher count; a term does not; the first answer stands", async () => {
  await consumer("answers");
  const js = jetstream(stream.nc);
  await js.publish(stream.subject("answers"), "again");
  await js.publish(stream.subject("answers"), "after");
  const puller = createPuller(stream.nc, stream.name, "answers");
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
  const puller = createPuller(stream.nc, stream.name, "stopping");
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
  const puller = createPuller(stream.nc, stream.name, "missing");
  try {
    await assert.rejects(puller.next(1000, never), PullStatusError);
  } finally {
    puller.close();
  }
});

test("a message delivered after its pull was stopped is given back at close, not after the ack wait", async () => {
  await consumer("late");
  const stopped = createPuller(stream.nc, stream.name, "late");
  const stop = new AbortController();
  const waiting = stopped.next(10_000, stop.signal);
  stop.abort();
  assert.equal(await waiting, null);
  // The pull still stands on the server's side, so the message goes to the stopped puller.
  await jetstream(stream.nc).publish(stream.subject("late"), "late");
  await waitUntil(
    async () => (await stream.jsm.consumers.info(stream.name, "late")).num_ack_pending === 1,
    5000,
    "the delivery to the stopped puller",
  );
  stopped.close();
  const next = createPuller(stream.nc, stream.name, "late");
  try {
    // The ack wait is 30 s: only the nak at close lets it come again within 2 s.
    const again = await next.next(2000, never);
    assert.equal(text(again), "late");
    assert.equal(again?.info.deliveryCount, 2);
    again?.ack();
  } finally {
    next.close();
  }
});
