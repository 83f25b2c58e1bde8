// SQL for client message ids: the first request with a clientMsgId claims a message id.
import type pg from "pg";

/** Returns the message id bound to this clientMsgId: `candidateId` when this call claimed it. */
export async function claimClientMessageId(
  db: pg.Pool,
  key: { conversationId: string; senderId: string; clientMsgId: string },
  candidateId: string,
): Promise<{ messageId: string; claimed: boolean }> {
  const { rows } = await db.query<{ message_id: string; claimed: boolean }>(
    `WITH inserted AS (
       INSERT INTO client_message_ids (conversation_id, sender_id, client_msg_id, message_id)
       VALUES ($1::uuid, $2::text, $3::text, $4::uuid)
       ON CONFLICT DO NOTHING
       RETURNING message_id
     )
     SELECT message_id, true AS claimed FROM inserted
     UNION ALL
     SELECT message_id, false AS claimed FROM client_message_ids
       WHERE conversation_id = $1::uuid AND sender_id = $2::text AND client_msg_id = $3::text
     LIMIT 1`,
    [key.conversationId, key.senderId, key.clientMsgId, candidateId],
  );
  const row = rows[0];
  if (row) return { messageId: row.message_id, claimed: row.claimed };
  // A concurrent claim committed after this statement's snapshot: read it now.
  const again = await db.query<{ message_id: string }>(
    `SELECT message_id FROM client_message_ids
     WHERE conversation_id = $1::uuid AND sender_id = $2::text AND client_msg_id = $3::text`,
    [key.conversationId, key.senderId, key.clientMsgId],
  );
  const existing = again.rows[0];
  if (!existing) throw new Error("client message id claim found no row");
  return { messageId: existing.message_id, claimed: false };
}
