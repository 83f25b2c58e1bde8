// After a run: waits for the broker to drain, then reads PostgreSQL and the fake Slack and counts
// what broke the invariants (DESIGN.md: no leak, nothing lost, no duplicate, order).
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type pg from "pg";
import type { FakeSlack, FakeSlackMessage } from "../fakes/slack/index.ts";
import type { ConversationRecord } from "./workload.ts";

export interface CheckInputs {
  /** The broker's database, read directly (not through any proxy). */
  pool: pg.Pool;
  slack: FakeSlack;
  conversations: readonly ConversationRecord[];
  /** NATS servers to read stream state from, directly. */
  natsServers: string[];
  /** The broker's stream prefix (`nats.prefix`). */
  prefix: string;
}

export interface FaultReport {
  /** Messages the senders got a 202 for. */
  acknowledged: number;
  /** Acknowledged, but not in the `messages` table. */
  lostOnPrem: number;
  /** Acknowledged in a normal conversation, but not posted in its Slack channel. */
  lostInCloud: number;
  /** Posts in Slack beyond the first of one Watershed message (same message id, or same text). */
  duplicatesInCloud: number;
  /** Anything of a sensitive conversation Slack saw: posts, and calls that named its channel. */
  sensitiveInCloud: number;
  /** Adjacent pairs out of acknowledgement order: on-prem history by ingress order, and Slack. */
  orderViolations: number;
  /** Not judged: stored rows of these conversations that no sender was acknowledged for. */
  unexpectedOnPrem: number;
  /** Not judged: dead letters in the DLQ stream at the end (each is also counted as lost in cloud). */
  deadLettered: number;
  /** The first problems found, one line each, with ids. */
  examples: string[];
}

export interface DrainResult {
  drained: boolean;
  seconds: number;
  /** What was still missing when the wait ended. */
  missing: { onPrem: number; inCloud: number; ingress: number; relay: number; storePending: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Watershed message id a post carries in its metadata (`event_payload.message_id`), if any. */
function messageIdOf(message: FakeSlackMessage): string | null {
  const id = message.metadata?.event_payload.message_id;
  return typeof id === "string" ? id : null;
}

async function storedIds(pool: pg.Pool, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM messages WHERE id = ANY($1::uuid[])`, [
    ids,
  ]);
  return new Set(rows.map((r) => r.id));
}

interface StreamState {
  ingress: number;
  relay: number;
  storePending: number;
  deadLettered: number;
}

async function streamState(servers: string[], prefix: string): Promise<StreamState> {
  const nc = await connect({ servers, timeout: 5000, maxReconnectAttempts: 2 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const upper = prefix.toUpperCase();
    const [ingress, relay, dlq, store] = await Promise.all([
      jsm.streams.info(`${upper}_INGRESS`),
      jsm.streams.info(`${upper}_RELAY`),
      jsm.streams.info(`${upper}_DLQ`),
      jsm.consumers.info(`${upper}_ONPREM`, "store"),
    ]);
    return {
      ingress: ingress.state.messages,
      relay: relay.state.messages,
      storePending: store.num_pending + store.num_ack_pending,
      deadLettered: dlq.state.messages,
    };
  } finally {
    await nc.close();
  }
}

/** Resolves once every acknowledged message is stored and relayed and the streams are empty, or at the timeout. */
export async function waitForDrain(inputs: CheckInputs, timeoutMs: number): Promise<DrainResult> {
  const started = Date.now();
  const acked = inputs.conversations.flatMap((c) => c.acknowledged);
  const normal = inputs.conversations.filter((c) => !c.sensitive);
  let missing: DrainResult["missing"] = {
    onPrem: acked.length,
    inCloud: 0,
    ingress: 0,
    relay: 0,
    storePending: 0,
  };
  for (;;) {
    try {
      const stored = await storedIds(inputs.pool, acked);
      let inCloud = 0;
      for (const c of normal) {
        const posted = new Set(inputs.slack.messages(c.channel).map(messageIdOf));
        inCloud += c.acknowledged.filter((id) => !posted.has(id)).length;
      }
      const streams = await streamState(inputs.natsServers, inputs.prefix);
      missing = {
        onPrem: acked.length - stored.size,
        inCloud,
        ingress: streams.ingress,
        relay: streams.relay,
        storePending: streams.storePending,
      };
      if (process.env.FAULTS_DEBUG)
        console.error(`drain ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(missing)}`);
      if (Object.values(missing).every((n) => n === 0)) {
        return { drained: true, seconds: (Date.now() - started) / 1000, missing };
      }
    } catch {
      // A service still coming back: look again.
    }
    if (Date.now() - started > timeoutMs) {
      return { drained: false, seconds: (Date.now() - started) / 1000, missing };
    }
    await sleep(1000);
  }
}

/** Adjacent pairs whose acknowledgement positions go backwards; ids not acknowledged are skipped. */
function outOfOrder(
  observed: readonly string[],
  position: ReadonlyMap<string, number>,
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let previous: { id: string; at: number } | null = null;
  for (const id of observed) {
    const at = position.get(id);
    if (at === undefined) continue;
    if (previous !== null && at < previous.at) pairs.push([previous.id, id]);
    previous = { id, at };
  }
  return pairs;
}

export async function checkRun(inputs: CheckInputs): Promise<FaultReport> {
  const { conversations, slack } = inputs;
  const examples: string[] = [];
  const note = (line: string) => {
    if (examples.length < 12) examples.push(line);
  };
  const acked = conversations.flatMap((c) => c.acknowledged);

  // On-prem: every acknowledged message stored, history in acknowledgement order.
  const { rows } = await inputs.pool.query<{ id: string; conversation_id: string }>(
    `SELECT id, conversation_id FROM messages WHERE conversation_id = ANY($1::uuid[])
     ORDER BY conversation_id, ingress_seq`,
    [conversations.map((c) => c.id)],
  );
  const history = new Map<string, string[]>();
  for (const row of rows) {
    const list = history.get(row.conversation_id) ?? [];
    list.push(row.id);
    history.set(row.conversation_id, list);
  }
  const storedAll = new Set(rows.map((r) => r.id));
  const ackedAll = new Set(acked);
  let lostOnPrem = 0;
  let orderViolations = 0;
  let unexpectedOnPrem = 0;
  for (const c of conversations) {
    for (const id of c.acknowledged) {
      if (storedAll.has(id)) continue;
      lostOnPrem += 1;
      note(`lost on-prem: message ${id} of conversation ${c.id}`);
    }
    const position = new Map(c.acknowledged.map((id, index) => [id, index]));
    const stored = history.get(c.id) ?? [];
    unexpectedOnPrem += stored.filter((id) => !ackedAll.has(id)).length;
    for (const [before, after] of outOfOrder(stored, position)) {
      orderViolations += 1;
      note(`on-prem order: ${after} stored after ${before} in conversation ${c.id}, acknowledged before it`);
    }
  }

  // The cloud: every normal message once, in order; nothing of a sensitive conversation.
  const sensitiveIds = new Set(conversations.filter((c) => c.sensitive).flatMap((c) => c.acknowledged));
  const sensitiveTexts = new Set(conversations.filter((c) => c.sensitive).flatMap((c) => c.texts));
  const sensitiveChannels = new Set(conversations.filter((c) => c.sensitive).map((c) => c.channel));
  const ourTexts = new Set(conversations.flatMap((c) => c.texts));
  const seenIds = new Set<string>();
  const seenTexts = new Set<string>();
  let duplicatesInCloud = 0;
  let sensitiveInCloud = 0;
  let lostInCloud = 0;
  for (const c of conversations) {
    const posts = slack.messages(c.channel);
    const firstPosts: string[] = [];
    for (const post of posts) {
      const id = messageIdOf(post);
      if (
        sensitiveChannels.has(c.channel) ||
        (id !== null && sensitiveIds.has(id)) ||
        sensitiveTexts.has(post.text)
      ) {
        sensitiveInCloud += 1;
        note(`sensitive in cloud: ${id ?? "(no id)"} "${post.text.slice(0, 60)}" in channel ${c.channel}`);
      }
      // Only our messages can be lost or duplicated; anything else (a notice) is not ours to count.
      if (!(id !== null && ackedAll.has(id)) && !ourTexts.has(post.text)) continue;
      if ((id !== null && seenIds.has(id)) || seenTexts.has(post.text)) {
        duplicatesInCloud += 1;
        note(`duplicate in cloud: ${id ?? "(no id)"} "${post.text.slice(0, 60)}" in channel ${c.channel}`);
        continue;
      }
      if (id !== null) {
        seenIds.add(id);
        firstPosts.push(id);
      }
      seenTexts.add(post.text);
    }
    if (c.sensitive) continue;
    const posted = new Set(firstPosts);
    for (const id of c.acknowledged) {
      if (posted.has(id)) continue;
      lostInCloud += 1;
      note(`lost in cloud: message ${id} of conversation ${c.id} (channel ${c.channel})`);
    }
    const position = new Map(c.acknowledged.map((id, index) => [id, index]));
    for (const [before, after] of outOfOrder(firstPosts, position)) {
      orderViolations += 1;
      note(`cloud order: ${after} posted after ${before} in channel ${c.channel}, acknowledged before it`);
    }
  }
  // Calls naming a sensitive channel with content that did not leave a post (refused, timed out, held).
  for (const call of slack.calls()) {
    if (call.channel === null || !sensitiveChannels.has(call.channel) || call.ok) continue;
    if (!/^(chat|files|reactions)\.|^upload$/.test(call.method)) continue;
    sensitiveInCloud += 1;
    note(
      `sensitive channel ${call.channel} named in a ${call.method} call (status ${call.status ?? "none"})`,
    );
  }

  let deadLettered = 0;
  try {
    deadLettered = (await streamState(inputs.natsServers, inputs.prefix)).deadLettered;
  } catch (error) {
    note(`stream state not read: ${(error as Error).message}`);
  }
  return {
    acknowledged: acked.length,
    lostOnPrem,
    lostInCloud,
    duplicatesInCloud,
    sensitiveInCloud,
    orderViolations,
    unexpectedOnPrem,
    deadLettered,
    examples,
  };
}

/** Whether a report shows a broken invariant. */
export function reportFailed(report: FaultReport): boolean {
  return (
    report.lostOnPrem +
      report.lostInCloud +
      report.duplicatesInCloud +
      report.sensitiveInCloud +
      report.orderViolations >
    0
  );
}
