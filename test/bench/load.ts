// Offered load: messages sent on a fixed schedule (open loop), whatever the answers, or as fast as
// they are accepted with a fixed number in flight (`ratePerSecond: null`, open-loop maximum). Open
// loop means a slow answer does not slow the offer; the cap on what is in flight only keeps a
// stalled broker from making the sender hold an unbounded number of requests.
import { errorText, sleep } from "./util.ts";

export interface OfferSettings {
  /** Messages per second on the schedule; null sends as fast as `maxInFlight` allows. */
  ratePerSecond: number | null;
  /** Messages in all. */
  messages: number;
  /** Sends waiting for their answer at most; a send due while the cap is reached goes late. */
  maxInFlight: number;
}

export interface OfferOutcome {
  sent: number;
  accepted: number;
  failures: number;
  firstError: string | null;
  /** First send to last answer, in seconds. */
  seconds: number;
  /** Sends that left more than 10 ms after their scheduled time: the sender could not keep up. */
  late: number;
  /** The sender's view per accepted message: send to answer (202 or JetStream ack), in ms. */
  waitMs: number[];
}

/** Sends `settings.messages` messages with `send(index)`, on schedule or as fast as accepted. */
export async function offerLoad(
  settings: OfferSettings,
  send: (index: number) => Promise<void>,
): Promise<OfferOutcome> {
  const outcome: OfferOutcome = {
    sent: 0,
    accepted: 0,
    failures: 0,
    firstError: null,
    seconds: 0,
    late: 0,
    waitMs: [],
  };
  const start = performance.now();
  let inFlight = 0;
  let wakeUp: (() => void) | null = null;
  const launch = (index: number) => {
    inFlight += 1;
    outcome.sent += 1;
    const sentAt = performance.now();
    send(index)
      .then(
        () => {
          outcome.accepted += 1;
          outcome.waitMs.push(performance.now() - sentAt);
        },
        (error: unknown) => {
          outcome.failures += 1;
          outcome.firstError ??= errorText(error);
        },
      )
      .finally(() => {
        inFlight -= 1;
        wakeUp?.();
      });
  };
  const slotFree = () =>
    new Promise<void>((resolve) => {
      wakeUp = () => {
        wakeUp = null;
        resolve();
      };
    });

  const rate = settings.ratePerSecond;
  let next = 0;
  while (next < settings.messages) {
    if (inFlight >= settings.maxInFlight) {
      await slotFree();
      continue;
    }
    if (rate !== null) {
      const dueAt = start + (next * 1000) / rate;
      const now = performance.now();
      if (dueAt > now) {
        await sleep(Math.max(1, dueAt - now));
        continue;
      }
      if (now - dueAt > 10) outcome.late += 1;
    }
    launch(next++);
    // Let answers in now and then, so a burst of sends does not starve their own callbacks.
    if (next % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  while (inFlight > 0) await slotFree();
  outcome.seconds = (performance.now() - start) / 1000;
  return outcome;
}
