// What the relay reads before sending one message, in one round trip.
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

export async function selectRelayState(db: Queryable, message: Message): Promise<RelayState | null> {
  const { rows } = await db.query<{
    sensitive: boolean;
    bindings: Binding[];
    delivered_to: string[];
    thread_of: Record<string, string> | null;
    target: Record<string, string> | null;
    target_zone: string | null;
  }>(
    `SELECT c.sensitive, c.bindings,
       ARRAY(SELECT connector FROM external_ids WHERE message_id = $2::uuid) AS delivered_to,
       (SELECT jsonb_object_agg(connector, external_id) FROM external_ids
         WHERE message_id = $3::uuid AND kind = 'message') AS thread_of,
       (SELECT jsonb_object_agg(connector, external_id) FROM external_ids
         WHERE message_id = $4::uuid AND kind = 'message') AS target,
       (SELECT zone FROM routing_decisions WHERE message_id = $4::uuid) AS target_zone
     FROM conversations c WHERE c.id = $1::uuid`,
    [message.conversationId, message.id, message.replyTo, message.targetId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    sensitive: row.sensitive,
    bindings: row.bindings,
    deliveredTo: row.delivered_to,
    threadOf: row.thread_of ?? {},
    target: row.target ?? {},
    targetZone: row.target_zone,
  };
}

/** A conversation's cloud channels, for a reclassification. */
export async function selectBindings(db: Queryable, conversationId: string): Promise<Binding[]> {
  const { rows } = await db.query<{ bindings: Binding[] }>(
    `SELECT bindings FROM conversations WHERE id = $1::uuid`,
    [conversationId],
  );
  return rows[0]?.bindings ?? [];
}
