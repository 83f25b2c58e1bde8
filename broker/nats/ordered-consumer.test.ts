// The partition loops against the real NATS server: each partition's messages are handled in
// order, one at a time, and sixteen loops waiting on one stop signal are not taken for a leak.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { natsUrl, randomPrefix } from "../../test/helpers/services.ts";
import { createLogger } from "../telemetry/log.ts";
import { runConsumerLoops } from "./ordered-consumer.ts";

const prefix = randomPrefix();
const stream = `${prefix.toUpperCase()}_LOOPS`;
const partitions = 16;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: natsUrl });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.loops.*`] });
  for (let p = 0; p < partitions; p++) {
    await jsm.consumers.add(stream, {
      durable_name: `p${p}`,
      filter_subject: `${prefix}.loops.${p}`,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 1,
    });
  }
});
after(async () => {
  await jsm.streams.delete(stream);
  await nc.close();
});

test("sixteen loops handle their partitions in order, with no listener-leak warning", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on("warning", onWarning);
  const js = jetstream(nc);
  for (let i = 0; i < 64; i++) await js.publish(`${prefix}.loops.${i % partitions}`, String(i));
  const seen = new Map<string, number[]>();
  const log = createLogger("silent");
  const loops = runConsumerLoops(
    nc,
    stream,
    Array.from({ length: partitions }, (_, p) => `p${p}`),
    async (message) => {
      const list = seen.get(message.subject) ?? [];
      list.push(Number(new TextDecoder().decode(message.data)));
      seen.set(message.subject, list);
      message.ack();
    },
    log,
  );
  try {
    const deadline = Date.now() + 10_000;
    while ([...seen.values()].flat().length < 64 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await loops.stop();
    process.off("warning", onWarning);
  }
  for (let p = 0; p < partitions; p++) {
    assert.deepEqual(seen.get(`${prefix}.loops.${p}`), [p, p + 16, p + 32, p + 48], `partition ${p}`);
  }
  assert.deepEqual(warnings, []);
});
