// What the relay reads before sending a message: for many messages in one round trip.
import type pg from "pg";
import type { Binding, Message } from "../../policies/model.ts";

type Queryable = pg.Pool | pg.PoolClient;

export interface RelayState {
  /** The live sticky flag: the relay re-reads it before every send. */
  sensitive: boolean;
  bindings: Binding[];
  /** Connectors that already have this message (delivered, or it came from their cloud). */
  deliveredTo: string[];
  /** Per connector, the cloud id of the message replied to (`replyTo`). */
  threadOf: Record<string, string>;
  /** Per connector, the cloud id of the message an edit, delete or reaction applies to. */
  target: Record<string, string>;
  /** The zone the target was decided for: `cloud` means it should be in the cloud. */
  targetZone: string | null;
}

interface RelayStateRow {
  sensitive: boolean | null;
  bindings: Binding[] | null;
  delivered_to: string[];
  thread_of: Record<string, string> | null;
  target: Record<string, string> | null;
  target_zone: string | null;
}

/**
 * The relay state of many messages in one statement, one answer per message in their order; null
 * for a message whose conversation is not known. Callers go through a batcher (broker/db/batcher.ts).
 *
 * `kind = 'message'` is a FILTER of the aggregate, not a WHERE condition: in the WHERE clause it
 * let PostgreSQL AND the primary key with the partial index `external_ids_conversation` (which
 * holds every relayed message) and read that whole index for each message, so the relay slowed
 * down as it relayed (50/s instead of 200/s after 240,000 messages in the 1M-message bench).
 */
export async function selectRelayStates(
  db: Queryable,
  messages: readonly Message[],
): Promise<Array<RelayState | null>> {
  if (messages.length === 0) return [];
  const { rows } = await db.query<RelayStateRow>(
    `SELECT c.sensitive, c.bindings,
       ARRAY(SELECT connector FROM external_ids WHERE message_id = t.message_id) AS delivered_to,
       (SELECT jsonb_object_agg(connector, external_id) FILTER (WHERE kind = 'message') FROM external_ids
         WHERE message_id = t.reply_to) AS thread_of,
       (SELECT jsonb_object_agg(connector, external_id) FILTER (WHERE kind = 'message') FROM external_ids
         WHERE message_id = t.target_id) AS target,
       (SELECT zone FROM routing_decisions WHERE message_id = t.target_id) AS target_zone
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[])
       WITH ORDINALITY AS t(conversation_id, message_id, reply_to, target_id, ord)
     LEFT JOIN conversations c ON c.id = t.conversation_id
     ORDER BY t.ord`,
    [
      messages.map((m) => m.conversationId),
      messages.map((m) => m.id),
      messages.map((m) => m.replyTo),
      messages.map((m) => m.targetId),
    ],
  );
  return rows.map((row) =>
    row.sensitive === null || row.bindings === null
      ? null
      : {
          sensitive: row.sensitive,
          bindings: row.bindings,
          deliveredTo: row.delivered_to,
          threadOf: row.thread_of ?? {},
          target: row.target ?? {},
          targetZone: row.target_zone,
        },
  );
}

/** A conversation's cloud channels, for a reclassification. */
export async function selectBindings(db: Queryable, conversationId: string): Promise<Binding[]> {
  const { rows } = await db.query<{ bindings: Binding[] }>(
    `SELECT bindings FROM conversations WHERE id = $1::uuid`,
    [conversationId],
  );
  return rows[0]?.bindings ?? [];
}
