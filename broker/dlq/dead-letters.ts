// Reading the DLQ stream: pages of summaries (no message text) and single entries in full.
// Reads go through an ephemeral ordered consumer or a get by sequence, never a durable
// consumer, so looking at dead letters changes nothing for anyone else.
import type { Consumer, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { decode, DeadLetter } from "../nats/envelope.ts";
import type { Topology } from "../nats/topology.ts";

export interface DlqDeps {
  /** Publishes redriven envelopes and opens the ordered consumer that lists the DLQ. */
  js: JetStreamClient;
  /** Gets, counts and deletes DLQ messages. */
  jsm: JetStreamManager;
  topo: Topology;
}

/** What a DLQ entry is listed as when it does not parse as the relay's `DeadLetter`. */
export const unreadableReason = "unreadable";

/** One line of the list: where and why a message failed, never its text. */
export interface DeadLetterSummary {
  /** Sequence of the entry in the DLQ stream: the id to show or redrive it by. */
  seq: number;
  /** null when the entry is unreadable. */
  messageId: string | null;
  conversationId: string | null;
  connector: string | null;
  /** The connector's error, or "unreadable". */
  reason: string;
  attempts: number | null;
  /** ISO time; for an unreadable entry, when the DLQ stored it. */
  failedAt: string;
}

/** One DLQ entry in full; `letter` is null when the entry does not parse as a `DeadLetter`. */
export interface DeadLetterEntry {
  seq: number;
  /** ISO time the DLQ stream stored the entry. */
  storedAt: string;
  letter: DeadLetter | null;
}

export interface ListOptions {
  /** Most summaries in one page. */
  limit: number;
  /** Start after this DLQ sequence (the `next` of the previous page). @default 0 */
  afterSeq?: number;
  /** Only letters of this connector kind; unreadable entries never match a connector. */
  connector?: string;
}

export interface DeadLetterPage {
  deadLetters: DeadLetterSummary[];
  /** The `afterSeq` of the next page, or null when this page holds the last matching entry. */
  next: number | null;
}

/** How long a scan waits for the next entry (ms): longer means the rest was deleted meanwhile. */
const idleMs = 2000;
/** Messages the ordered consumer asks for at a time. */
const batchSize = 256;

export function summarize(entry: DeadLetterEntry): DeadLetterSummary {
  const { seq, letter } = entry;
  if (letter === null) {
    return {
      seq,
      messageId: null,
      conversationId: null,
      connector: null,
      reason: unreadableReason,
      attempts: null,
      failedAt: entry.storedAt,
    };
  }
  return {
    seq,
    messageId: letter.envelope.message.id,
    conversationId: letter.envelope.message.conversationId,
    connector: letter.connector,
    reason: letter.reason,
    attempts: letter.attempts,
    failedAt: letter.failedAt,
  };
}

function entryOf(seq: number, storedAt: string, data: Uint8Array): DeadLetterEntry {
  let letter: DeadLetter | null;
  try {
    letter = decode(DeadLetter, data);
  } catch {
    // The parse error is not kept: it can quote the message text.
    letter = null;
  }
  return { seq, storedAt, letter };
}

export function matchesConnector(entry: DeadLetterEntry, connector: string | undefined): boolean {
  return connector === undefined || entry.letter?.connector === connector;
}

/** The entry stored at `seq`, or null when there is none (never stored, redriven or expired). */
export async function getDeadLetter(deps: DlqDeps, seq: number): Promise<DeadLetterEntry | null> {
  const stored = await deps.jsm.streams.getMessage(deps.topo.streams.dlq, { seq });
  return stored === null ? null : entryOf(stored.seq, stored.timestamp, stored.data);
}

/**
 * Calls `visit` with each entry after `afterSeq`, in stream order, until it returns false or the
 * stream ends. Deleted entries (redriven ones) are skipped by the server, not probed one by one.
 */
export async function scanDeadLetters(
  deps: DlqDeps,
  afterSeq: number,
  visit: (entry: DeadLetterEntry) => boolean,
): Promise<void> {
  const stream = deps.topo.streams.dlq;
  const { state } = await deps.jsm.streams.info(stream);
  if (state.messages === 0 || state.last_seq <= afterSeq) return;
  let lastSeq = afterSeq;
  let stalled = false;
  await withOrderedConsumer(deps, afterSeq, async (consumer) => {
    if ((await consumer.info(true)).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: batchSize });
    const stall = () => {
      stalled = true;
      void messages.stop();
    };
    let idle = setTimeout(stall, idleMs);
    try {
      for await (const msg of messages) {
        clearTimeout(idle);
        lastSeq = msg.seq;
        const more = visit(entryOf(msg.seq, msg.timestamp, msg.data));
        if (!more || msg.info.pending === 0) break;
        idle = setTimeout(stall, idleMs);
      }
    } finally {
      clearTimeout(idle);
      void messages.stop();
    }
  });
  // A stall is the end only if nothing is left: otherwise a slow server would cut the list short.
  if (stalled && (await pendingAfter(deps, lastSeq)) > 0) {
    throw new Error(`timeout reading ${stream} after seq ${lastSeq}`);
  }
}

async function withOrderedConsumer(
  deps: DlqDeps,
  afterSeq: number,
  use: (consumer: Consumer) => Promise<void>,
): Promise<void> {
  const consumer = await deps.js.consumers.get(deps.topo.streams.dlq, { opt_start_seq: afterSeq + 1 });
  try {
    await use(consumer);
  } finally {
    // It would expire by itself after 5 minutes; no reason to leave it that long.
    await consumer.delete().catch(() => false);
  }
}

async function pendingAfter(deps: DlqDeps, afterSeq: number): Promise<number> {
  let pending = 0;
  await withOrderedConsumer(deps, afterSeq, async (consumer) => {
    pending = (await consumer.info(true)).num_pending;
  });
  return pending;
}

/** One page of summaries, oldest first. */
export async function listDeadLetters(deps: DlqDeps, options: ListOptions): Promise<DeadLetterPage> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new RangeError(`limit must be a positive whole number, got ${options.limit}`);
  }
  const deadLetters: DeadLetterSummary[] = [];
  let more = false;
  await scanDeadLetters(deps, options.afterSeq ?? 0, (entry) => {
    if (!matchesConnector(entry, options.connector)) return true;
    // One matching entry past the page says whether there is a next page.
    if (deadLetters.length === options.limit) {
      more = true;
      return false;
    }
    deadLetters.push(summarize(entry));
    return true;
  });
  return { deadLetters, next: more ? (deadLetters.at(-1)?.seq ?? null) : null };
}
