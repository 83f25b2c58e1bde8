// Waiting inside a relay handler: for a rate-limit token, or for nothing at all once stopping.
import type { Delivery } from "../nats/pull.ts";

/** Resolves true after `ms`, or false as soon as `stopping` aborts. */
export async function waitFor(ms: number, stopping: AbortSignal): Promise<boolean> {
  if (stopping.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      stopping.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    stopping.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `work` while telling NATS every third of the ack wait that the message is still being
 * handled. A handler may outlast the ack wait (a rate-limit wait, an outcome check reading many
 * pages, a long retraction); without this, another process would get the message meanwhile and
 * could send it a second time, or pass it and break the conversation's order.
 */
export async function keepingAlive<T>(msg: Delivery, ackWaitMs: number, work: () => Promise<T>): Promise<T> {
  const heartbeat = setInterval(() => msg.working(), Math.max(100, Math.floor(ackWaitMs / 3)));
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
  }
}
