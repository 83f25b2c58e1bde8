// SQL for client message ids: the first request with a clientMsgId claims a message id.
import type pg from "pg";

export interface ClientMessageKey {
  conversationId: string;
  senderId: string;
  clientMsgId: string;
}

export interface ClientMessageClaim {
  messageId: string;
  /** True when this call bound the key; false when an earlier request had. */
  claimed: boolean;
  /** The hash of the request that bound the key. */
  requestHash: string;
}

/** Binds the key to `candidateId` unless it is bound already, and returns the binding. */
export async function claimClientMessageId(
  db: pg.Pool,
  key: ClientMessageKey,
  candidateId: string,
  requestHash: string,
): Promise<ClientMessageClaim> {
  const params = [key.conversationId, key.senderId, key.clientMsgId];
  const { rows } = await db.query<{ message_id: string; request_hash: string; claimed: boolean }>(
    `WITH inserted AS (
       INSERT INTO client_message_ids (conversation_id, sender_id, client_msg_id, message_id, request_hash)
       VALUES ($1::uuid, $2::text, $3::text, $4::uuid, $5::text)
       ON CONFLICT DO NOTHING
       RETURNING message_id, request_hash
     )
     SELECT message_id, request_hash, true AS claimed FROM inserted
     UNION ALL
     SELECT message_id, request_hash, false AS claimed FROM client_message_ids
       WHERE conversation_id = $1::uuid AND sender_id = $2::text AND client_msg_id = $3::text
     LIMIT 1`,
    [...params, candidateId, requestHash],
  );
  let row = rows[0];
  if (!row) {
    // A concurrent claim committed after this statement's snapshot: read it now.
    const again = await db.query<{ message_id: string; request_hash: string }>(
      `SELECT message_id, request_hash FROM client_message_ids
       WHERE conversation_id = $1::uuid AND sender_id = $2::text AND client_msg_id = $3::text`,
      params,
    );
    const existing = again.rows[0];
    if (!existing) throw new Error("client message id claim found no row");
    row = { ...existing, claimed: false };
  }
  return { messageId: row.message_id, claimed: row.claimed, requestHash: row.request_hash };
}

/** Whether `messageId` is the message `clientMsgId` claimed (in any conversation, by any sender). */
export async function isClaimedBy(db: pg.Pool, messageId: string, clientMsgId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM client_message_ids WHERE message_id = $1::uuid AND client_msg_id = $2::text`,
    [messageId, clientMsgId],
  );
  return (rowCount ?? 0) > 0;
}
