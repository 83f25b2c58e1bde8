// Runs one handler loop per partition consumer. Each consumer allows one message in flight
// (max_ack_pending 1), so whichever broker process holds it, a partition is handled in order.
//
// Each loop asks for the next message only once it has finished with the last one, so no pull
// request stands open against a consumer that cannot deliver while its message is unacknowledged
// (broker/nats/pull.ts makes the pulls).
import { setMaxListeners } from "node:events";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../telemetry/log.ts";
import { createPuller, type Delivery, type Puller } from "./pull.ts";

export interface ConsumerLoops {
  stop(): Promise<void>;
}

/**
 * Handles one message; it must ack, nak or term it. A throw naks with `retryDelayMs`. `stopping`
 * aborts when the loops stop, so a handler that waits can give the message back at once.
 */
export type MessageHandler = (message: Delivery, stopping: AbortSignal) => Promise<void>;

/** How long one pull waits for a message before asking again. */
const pullExpiresMs = 5000;

export function runConsumerLoops(
  nc: NatsConnection,
  stream: string,
  consumerNames: readonly string[],
  handler: MessageHandler,
  log: Logger,
  retryDelayMs = 1000,
): ConsumerLoops {
  let stopping = false;
  const abort = new AbortController();
  // Every waiting pull and every handler's wait listens on this one signal (and stops listening
  // when done): more than Node's default of ten at once is expected, not a leak.
  setMaxListeners(0, abort.signal);
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

  const loop = async (name: string) => {
    const puller: Puller = createPuller(nc, stream, name);
    try {
      while (!stopping) {
        let message: Delivery | null;
        try {
          message = await puller.next(pullExpiresMs, abort.signal);
        } catch (error) {
          if (stopping) break;
          log.warn({ err: error, stream, consumer: name }, "consumer pull failed; retrying");
          await pause(retryDelayMs);
          continue;
        }
        if (message === null) continue;
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
      puller.close();
    }
  };
  const loops = consumerNames.map(loop);
  return {
    async stop() {
      stopping = true;
      // Waiting pulls end now; a message in hand is finished (and acknowledged) first.
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
