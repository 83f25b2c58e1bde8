// When each message reached its on-prem store and the cloud: `messages` and `routing_decisions` rows
// in PostgreSQL, and the fake Slack's call log matched to the posts it made.
import type { FakeSlack } from "../fakes/slack/index.ts";
import type { TestDatabase } from "../helpers/services.ts";

export interface StoredTimes {
  /** Message id -> `accepted_at`, ms since the epoch (the broker's clock at intake). */
  acceptedAt: Map<string, number>;
  /** Message id -> `stored_at`, ms since the epoch (PostgreSQL's now() at the insert). */
  storedAt: Map<string, number>;
  /** Message id -> `routing_decisions.decided_at`, ms since the epoch. */
  decidedAt: Map<string, number>;
}

/** The stored and decided times of every message of these conversations. */
export async function storedTimes(
  db: TestDatabase,
  conversationIds: readonly string[],
): Promise<StoredTimes> {
  const [messages, decisions] = await Promise.all([
    db.pool.query<{ id: string; accepted: number; stored: number }>(
      `SELECT id, extract(epoch FROM accepted_at)::float8 * 1000 AS accepted,
              extract(epoch FROM stored_at)::float8 * 1000 AS stored
       FROM messages WHERE conversation_id = ANY($1::uuid[])`,
      [conversationIds],
    ),
    db.pool.query<{ id: string; decided: number }>(
      `SELECT message_id AS id, extract(epoch FROM decided_at)::float8 * 1000 AS decided
       FROM routing_decisions WHERE conversation_id = ANY($1::uuid[])`,
      [conversationIds],
    ),
  ]);
  return {
    acceptedAt: new Map(messages.rows.map((r) => [r.id, r.accepted])),
    storedAt: new Map(messages.rows.map((r) => [r.id, r.stored])),
    decidedAt: new Map(decisions.rows.map((r) => [r.id, r.decided])),
  };
}

/**
 * How far these conversations got: rows stored, messages the relay recorded as sent. Polled while a
 * run drains, on the machine being measured, so both counts read an index only (the bench's
 * messages are all of kind `message`, which the id mapping's conversation index covers). A stored
 * row implies its decision: the router records the decision before it hands the message on.
 */
export async function progress(
  db: TestDatabase,
  conversationIds: readonly string[],
): Promise<{ stored: number; relayed: number }> {
  const { rows } = await db.pool.query<{ stored: number; relayed: number }>(
    `SELECT (SELECT count(*) FROM messages WHERE conversation_id = ANY($1::uuid[]))::int AS stored,
            (SELECT count(*) FROM external_ids
              WHERE conversation_id = ANY($1::uuid[]) AND kind = 'message')::int AS relayed`,
    [conversationIds],
  );
  return rows[0] ?? { stored: 0, relayed: 0 };
}

/** Decisions recorded for these conversations (a scan: for a report, not for polling). */
export async function decisionCount(db: TestDatabase, conversationIds: readonly string[]): Promise<number> {
  const { rows } = await db.pool.query<{ routed: number }>(
    `SELECT count(*)::int AS routed FROM routing_decisions WHERE conversation_id = ANY($1::uuid[])`,
    [conversationIds],
  );
  return rows[0]?.routed ?? 0;
}

export interface CloudArrivals {
  /** Message id -> when the fake received the chat.postMessage that posted it (ApiCall `at`). */
  arrivedAt: Map<string, number>;
  /** Posts in these channels that carry no message id of ours (e.g. a "continues on-prem" notice). */
  otherPosts: number;
  /** Channels where the successful chat.postMessage calls and the posts did not pair up one to one. */
  unmatchedChannels: number;
}

/**
 * The fake records each call, with its arrival time, in the same turn as the post it makes, so a
 * channel's successful chat.postMessage calls and its posts pair up in order. A post names our
 * message in its metadata (`event_payload.message_id`, connectors/slack/connector.ts).
 */
export function cloudArrivals(slack: FakeSlack, channels: Iterable<string>): CloudArrivals {
  const wanted = new Set(channels);
  const postCalls = new Map<string, number[]>();
  for (const call of slack.calls()) {
    if (call.method !== "chat.postMessage" || !call.ok || call.channel === null) continue;
    if (!wanted.has(call.channel)) continue;
    const list = postCalls.get(call.channel);
    if (list) list.push(call.at);
    else postCalls.set(call.channel, [call.at]);
  }
  const result: CloudArrivals = { arrivedAt: new Map(), otherPosts: 0, unmatchedChannels: 0 };
  for (const channel of wanted) {
    const calls = postCalls.get(channel) ?? [];
    const posts = slack.messages(channel);
    if (posts.length !== calls.length) result.unmatchedChannels += 1;
    posts.forEach((post, index) => {
      const id = post.metadata?.event_payload.message_id;
      const at = calls[index];
      if (typeof id !== "string") result.otherPosts += 1;
      else if (at !== undefined) result.arrivedAt.set(id, at);
    });
  }
  return result;
}
