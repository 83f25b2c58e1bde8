// Redrive: a dead letter's envelope goes back to RELAY, and leaves the DLQ once RELAY has it.
// The relay skips connectors that already have the message (external_ids), so a redriven
// envelope is delivered only where it is missing, and never twice.
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { encode } from "../nats/envelope.ts";
import { partitionOf } from "../nats/topology.ts";
import { getDeadLetter, matchesConnector, scanDeadLetters, type DlqDeps } from "./dead-letters.ts";

/** Header on a redriven RELAY message: the DLQ sequence it came from. */
export const redriveHeader = "Watershed-Redrive";

export interface RedriveOptions {
  /** Only letters of this connector kind; with explicit seqs, another connector's letter counts as missing. */
  connector?: string;
}

export interface RedrivenLetter {
  /** The DLQ seq it had (now deleted). */
  seq: number;
  messageId: string;
  conversationId: string;
  connector: string;
  /** Why it had been dead-lettered. */
  reason: string;
  attempts: number;
  /** Where the envelope now waits for the relay. */
  relaySubject: string;
  relaySeq: number;
}

export interface RedriveReport {
  /** In DLQ order; each is on RELAY and gone from the DLQ. */
  redriven: RedrivenLetter[];
  /** Seqs with no dead letter (never stored, already redriven, expired, or another connector's). */
  missing: number[];
  /** Seqs whose entry cannot be read, so it cannot be redriven; they stay in the DLQ. */
  unreadable: number[];
}

/**
 * Redrives the given DLQ seqs, or every letter present when the call starts ("all"; letters
 * dead-lettered again meanwhile wait for the next call). Letters go back in DLQ order, which
 * keeps a conversation's messages in their order. Safe to run again after a failure: a letter
 * published but not yet deleted is at worst relayed twice, and the relay skips delivered ones.
 */
export async function redrive(
  deps: DlqDeps,
  target: readonly number[] | "all",
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const report: RedriveReport = { redriven: [], missing: [], unreadable: [] };
  const seqs = target === "all" ? await presentSeqs(deps, options, report) : sortedUnique(target);
  for (const seq of seqs) {
    const entry = Number.isSafeInteger(seq) && seq > 0 ? await getDeadLetter(deps, seq) : null;
    if (entry === null || (entry.letter !== null && !matchesConnector(entry, options.connector))) {
      report.missing.push(seq);
      continue;
    }
    const { letter } = entry;
    if (letter === null) {
      report.unreadable.push(seq);
      continue;
    }
    const { message } = letter.envelope;
    const relaySubject = deps.topo.relaySubject(partitionOf(message.conversationId, deps.topo.partitions));
    const marker = headers();
    marker.set(redriveHeader, String(seq));
    const ack = await deps.js.publish(relaySubject, encode(letter.envelope), {
      // Not the message id alone: RELAY's duplicate window would drop a quick second attempt.
      msgID: `${message.id}:redrive:${seq}`,
      headers: marker,
      expect: { streamName: deps.topo.streams.relay },
    });
    await deleteEntry(deps, seq);
    report.redriven.push({
      seq,
      messageId: message.id,
      conversationId: message.conversationId,
      connector: letter.connector,
      reason: letter.reason,
      attempts: letter.attempts,
      relaySubject,
      relaySeq: ack.seq,
    });
  }
  return report;
}

/** Seqs of the readable letters present now (matching the connector); unreadable ones are reported. */
async function presentSeqs(deps: DlqDeps, options: RedriveOptions, report: RedriveReport): Promise<number[]> {
  const { state } = await deps.jsm.streams.info(deps.topo.streams.dlq);
  const lastSeq = state.last_seq;
  const seqs: number[] = [];
  await scanDeadLetters(deps, 0, (entry) => {
    if (entry.seq > lastSeq) return false;
    if (entry.letter === null) {
      if (options.connector === undefined) report.unreadable.push(entry.seq);
    } else if (matchesConnector(entry, options.connector)) {
      seqs.push(entry.seq);
    }
    return entry.seq < lastSeq;
  });
  return seqs;
}

function sortedUnique(seqs: readonly number[]): number[] {
  return [...new Set(seqs)].sort((a, b) => a - b);
}

async function deleteEntry(deps: DlqDeps, seq: number): Promise<void> {
  try {
    await deps.jsm.streams.deleteMessage(deps.topo.streams.dlq, seq);
  } catch (error) {
    // A concurrent redrive of the same seq deleted it first: the envelope is on RELAY either way.
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return;
    throw error;
  }
}
