// One message at a time from a pull consumer, over one long-lived inbox subscription.
//
// The client's `consumer.fetch()` makes a subscription, a heartbeat monitor and a request object
// for every pull and removes them after; a partition pulls once per message, so that was a SUB,
// an UNSUB and their bookkeeping per message on both ends. Here each loop subscribes once and
// names each pull's reply subject `<inbox>.<n>`, so a late status of an earlier pull is told apart.
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { createInbox, nanos } from "@nats-io/transport-node";

/** What a handler needs of a delivered JetStream message. */
export interface Delivery {
  readonly data: Uint8Array;
  readonly subject: string;
  readonly headers: MsgHdrs | undefined;
  /** Stream sequence. */
  readonly seq: number;
  readonly info: { readonly deliveryCount: number };
  ack(): void;
  /** Gives the message back, to be redelivered after `delayMs` (at once without it). */
  nak(delayMs?: number): void;
  /** Never redeliver it. */
  term(): void;
  /** Still working on it: restarts the ack wait. */
  working(): void;
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or the newer form with a
 * domain and an account hash before the stream and a token after `pending` (12 tokens).
 */
function parseAckSubject(reply: string): { deliveryCount: number; seq: number } {
  const tokens = reply.split(".");
  const at = tokens.length >= 12 ? 6 : 4;
  const deliveryCount = Number(tokens[at]);
  const seq = Number(tokens[at + 1]);
  if (tokens[0] !== "$JS" || tokens[1] !== "ACK" || !Number.isSafeInteger(seq) || seq < 1)
    throw new Error(`not a JetStream delivery: reply subject ${reply}`);
  return { deliveryCount, seq };
}

class PulledMessage implements Delivery {
  readonly seq: number;
  readonly info: { deliveryCount: number };
  #answered = false;

  constructor(
    private readonly msg: Msg,
    reply: string,
  ) {
    const parsed = parseAckSubject(reply);
    this.seq = parsed.seq;
    this.info = { deliveryCount: parsed.deliveryCount };
  }

  get data(): Uint8Array {
    return this.msg.data;
  }
  get subject(): string {
    return this.msg.subject;
  }
  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }

  ack(): void {
    this.#answer("+ACK");
  }
  nak(delayMs?: number): void {
    this.#answer(delayMs === undefined ? "-NAK" : `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`);
  }
  term(): void {
    this.#answer("+TERM");
  }
  working(): void {
    if (!this.#answered) this.msg.respond("+WPI");
  }

  /** The first answer stands: a nak after an ack (a handler that threw late) is not sent. */
  #answer(body: string): void {
    if (this.#answered) return;
    this.#answered = true;
    this.msg.respond(body);
  }
}

/** The server answered a pull with an error status other than "no messages" or "timed out". */
export class PullStatusError extends Error {
  override name = "PullStatusError";
}

export interface Puller {
  /**
   * The next message, or null when none came within `expiresMs` (or `stopping` aborted). Throws a
   * PullStatusError when the consumer is gone or JetStream does not answer.
   */
  next(expiresMs: number, stopping: AbortSignal): Promise<Delivery | null>;
  close(): void;
}

/** Grace over `expires` before a pull whose end never came (a server restart) is given up. */
const lostPullGraceMs = 2000;

export function createPuller(nc: NatsConnection, stream: string, consumer: string): Puller {
  const pullSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
  const infoSubject = `$JS.API.CONSUMER.INFO.${stream}.${consumer}`;
  const inbox = createInbox();
  let pullNumber = 0;
  // Deliveries that came while no pull was waiting (one sent just before a pull was given up).
  const arrived: Delivery[] = [];
  let waiter: ((outcome: Delivery | Error | "lost" | null) => void) | null = null;

  const settle = (outcome: Delivery | Error | null) => {
    const resolve = waiter;
    waiter = null;
    if (resolve) resolve(outcome);
    else if (outcome !== null && !(outcome instanceof Error)) arrived.push(outcome);
  };

  const sub: Subscription = nc.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      if (error) return settle(error);
      const code = msg.headers?.code ?? 0;
      if (code === 0 && msg.reply) {
        try {
          settle(new PulledMessage(msg, msg.reply));
        } catch (parseError) {
          settle(parseError as Error);
        }
        return;
      }
      // A status: only the current pull's counts; an earlier one's end means nothing now.
      if (msg.subject !== `${inbox}.${pullNumber}`) return;
      if (code === 404 || code === 408 || code === 100) return settle(null);
      settle(new PullStatusError(`${stream}/${consumer}: ${code} ${msg.headers?.description ?? ""}`.trim()));
    },
  });

  /**
   * A pull that got no answer at all, not even its end: JetStream's API answers pulls for a
   * consumer that does not exist with silence, so ask about the consumer before pulling again.
   */
  const checkConsumer = async (): Promise<void> => {
    let answer: { error?: { code?: number; description?: string } };
    try {
      answer = (await nc.request(infoSubject, "", { timeout: lostPullGraceMs })).json();
    } catch (error) {
      throw new PullStatusError(
        `${stream}/${consumer}: no answer from JetStream (${(error as Error).message})`,
      );
    }
    if (answer.error)
      throw new PullStatusError(
        `${stream}/${consumer}: ${answer.error.code ?? ""} ${answer.error.description ?? ""}`,
      );
  };

  return {
    async next(expiresMs, stopping) {
      const waiting = arrived.shift();
      if (waiting) return waiting;
      if (stopping.aborted) return null;
      pullNumber += 1;
      const outcome = await new Promise<Delivery | Error | "lost" | null>((resolve) => {
        const finish = (result: Delivery | Error | "lost" | null) => {
          clearTimeout(timer);
          stopping.removeEventListener("abort", onAbort);
          if (waiter === finish) waiter = null;
          resolve(result);
        };
        const onAbort = () => finish(null);
        const timer = setTimeout(() => finish("lost"), expiresMs + lostPullGraceMs);
        stopping.addEventListener("abort", onAbort, { once: true });
        waiter = finish;
        try {
          nc.publish(pullSubject, JSON.stringify({ batch: 1, expires: nanos(expiresMs) }), {
            reply: `${inbox}.${pullNumber}`,
          });
        } catch (error) {
          finish(error as Error); // the connection is closed or draining
        }
      });
      if (outcome instanceof Error) throw outcome;
      if (outcome === "lost") {
        await checkConsumer();
        return arrived.shift() ?? null;
      }
      return outcome;
    },
    close() {
      sub.unsubscribe();
      // Delivered after the last pull was given up: back to the stream now, not after the ack wait.
      for (const delivery of arrived.splice(0)) delivery.nak();
    },
  };
}
