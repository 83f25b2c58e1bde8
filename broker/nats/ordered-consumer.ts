// Runs one handler loop per partition consumer. Each consumer allows one message in flight
// (max_ack_pending 1), so whichever broker process holds it, a partition is handled in order.
//
// Each loop asks for the next message only once it has finished with the last one, so no pull
// request stands open against a consumer that cannot deliver while its message is unacknowledged.
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../telemetry/log.ts";

export interface ConsumerLoops {
  stop(): Promise<void>;
}

/**
 * Handles one message; it must ack, nak or term it. A throw naks with `retryDelayMs`. `stopping`
 * aborts when the loops stop, so a handler that waits can give the message back at once.
 */
export type MessageHandler = (message: JsMsg, stopping: AbortSignal) => Promise<void>;

/** How long one pull waits for a message before asking again. */
const pullExpiresMs = 5000;

export function runConsumerLoops(
  js: JetStreamClient,
  stream: string,
  consumerNames: readonly string[],
  handler: MessageHandler,
  log: Logger,
  retryDelayMs = 1000,
): ConsumerLoops {
  let stopping = false;
  const abort = new AbortController();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort.signal.addEventListener("abort", done, { once: true });
    });

  const pulls = new Set<{ stop(): void }>();
  const loop = async (name: string) => {
    let consumer: Consumer | null = null;
    while (!stopping) {
      try {
        consumer ??= await js.consumers.get(stream, name);
        const pull = await consumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        pulls.add(pull);
        // stop() may have run while this pull was being made: it found nothing to stop.
        if (stopping) pull.stop();
        try {
          for await (const message of pull) {
            try {
              await handler(message, abort.signal);
            } catch (error) {
              log.warn(
                { err: error, stream, consumer: name, seq: message.seq },
                "handler failed; will redeliver",
              );
              message.nak(retryDelayMs);
            }
          }
        } finally {
          pulls.delete(pull);
        }
      } catch (error) {
        if (stopping) break;
        consumer = null;
        log.warn({ err: error, stream, consumer: name }, "consumer loop failed; restarting");
        await pause(retryDelayMs);
      }
    }
  };
  const loops = consumerNames.map(loop);
  return {
    async stop() {
      stopping = true;
      abort.abort();
      // Waiting pulls end now; a message in hand is finished (and acknowledged) first.
      for (const pull of pulls) pull.stop();
      await Promise.allSettled(loops);
    },
  };
}
