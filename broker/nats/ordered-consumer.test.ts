// The partition loops against the real NATS server: each partition's messages are handled in
// order, one at a time, and sixteen loops waiting on one stop signal are not taken for a leak.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AckPolicy, jetstream } from "@nats-io/jetstream";
import { createTestStream, type TestStream } from "../../test/helpers/services.ts";
import { createLogger } from "../telemetry/log.ts";
import { runConsumerLoops } from "./ordered-consumer.ts";

const partitions = 16;
let stream: TestStream;

before(async () => {
  stream = await createTestStream("loops");
  for (let p = 0; p < partitions; p++) {
    await stream.jsm.consumers.add(stream.name, {
      durable_name: `p${p}`,
      filter_subject: stream.subject(p),
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 1,
    });
  }
});
after(() => stream.drop());

test("sixteen loops handle their partitions in order, with no listener-leak warning", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on("warning", onWarning);
  const js = jetstream(stream.nc);
  for (let i = 0; i < 64; i++) await js.publish(stream.subject(i % partitions), String(i));
  const seen = new Map<string, number[]>();
  const log = createLogger("silent");
  const loops = runConsumerLoops(
    stream.nc,
    stream.name,
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
    assert.deepEqual(seen.get(stream.subject(p)), [p, p + 16, p + 32, p + 48], `partition ${p}`);
  }
  assert.deepEqual(warnings, []);
});
