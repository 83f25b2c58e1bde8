// Runs one handler loop per partition consumer. Each consumer allows one message in flight
// (max_ack_pending 1), so whichever broker process holds it, a partition is handled in order.
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../telemetry/log.ts";

export interface ConsumerLoops {
  stop(): Promise<void>;
}

/** Handles one message; it must ack, nak or term it. A throw naks with `retryDelayMs`. */
export type MessageHandler = (message: JsMsg) => Promise<void>;

export function runConsumerLoops(
  js: JetStreamClient,
  stream: string,
  consumerNames: readonly string[],
  handler: MessageHandler,
  log: Logger,
  retryDelayMs = 1000,
): ConsumerLoops {
  let stopping = false;
  const active = new Set<{ stop(): void }>();
  const loops = consumerNames.map(async (name) => {
    while (!stopping) {
      try {
        const consumer = await js.consumers.get(stream, name);
        const messages = await consumer.consume({ max_messages: 1 });
        active.add(messages);
        try {
          for await (const message of messages) {
            try {
              await handler(message);
            } catch (error) {
              log.warn(
                { err: error, stream, consumer: name, seq: message.seq },
                "handler failed; will redeliver",
              );
              message.nak(retryDelayMs);
            }
            if (stopping) break;
          }
        } finally {
          active.delete(messages);
        }
      } catch (error) {
        if (stopping) break;
        log.warn({ err: error, stream, consumer: name }, "consumer loop failed; restarting");
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      }
    }
  });
  return {
    async stop() {
      stopping = true;
      for (const messages of active) messages.stop();
      await Promise.allSettled(loops);
    },
  };
}
