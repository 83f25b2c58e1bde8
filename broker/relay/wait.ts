// Waiting for a rate-limit token while holding a JetStream message: the message is kept alive with
// progress acks, so the wait can outlast the ack wait without a redelivery elsewhere.
import type { JsMsg } from "@nats-io/jetstream";

/** Resolves true after `ms`, or false as soon as `stopping` aborts. */
export async function waitWorking(
  ms: number,
  msg: JsMsg,
  ackWaitMs: number,
  stopping: AbortSignal,
): Promise<boolean> {
  if (stopping.aborted) return false;
  const heartbeatMs = Math.max(250, Math.floor(ackWaitMs / 3));
  return new Promise<boolean>((resolve) => {
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      clearInterval(heartbeat);
      stopping.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    const heartbeat = setInterval(() => msg.working(), heartbeatMs);
    stopping.addEventListener("abort", onAbort, { once: true });
  });
}
