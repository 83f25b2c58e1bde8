// SQL for stored messages: batched inserts from the store worker, reads for the API.
import type pg from "pg";
import type { Message, RoutingDecision } from "../../policies/model.ts";
import { decisionColumns, toDecision, type DecisionRow } from "./decisions.ts";

type Queryable = pg.Pool | pg.PoolClient;

export interface StoredMessage {
  message: Message;
  ingressSeq: number;
}

/** Inserts a batch in one statement; a redelivered message is a no-op. Returns the ids inserted. */
export async function insertMessages(db: Queryable, batch: readonly StoredMessage[]): Promise<number> {
  if (batch.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO messages (id, conversation_id, ingress_seq, sender_id, sender_attributes, kind, body, reply_to,
       target_id, attachments, client_msg_id, accepted_at)
     SELECT id, conversation_id, ingress_seq, sender_id, sender_attributes, kind, body, reply_to, target_id,
       ARRAY(SELECT jsonb_array_elements_text(attachments)::uuid), client_msg_id, accepted_at
     FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::uuid[],
       $8::uuid[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::jsonb[])
       AS t(id, conversation_id, ingress_seq, sender_id, kind, body, reply_to, target_id, attachments,
         client_msg_id, accepted_at, sender_attributes)
     ON CONFLICT (id) DO NOTHING`,
    [
      batch.map((m) => m.message.id),
      batch.map((m) => m.message.conversationId),
      batch.map((m) => m.ingressSeq),
      batch.map((m) => m.message.sender.id),
      batch.map((m) => m.message.kind),
      batch.map((m) => m.message.text),
      batch.map((m) => m.message.replyTo),
      batch.map((m) => m.message.targetId),
      batch.map((m) => JSON.stringify(m.message.attachments)),
      batch.map((m) => m.message.clientMsgId),
      batch.map((m) => m.message.acceptedAt),
      batch.map(({ message: { sender } }) =>
        JSON.stringify({ roles: sender.roles, groups: sender.groups, department: sender.department }),
      ),
    ],
  );
  return result.rowCount ?? 0;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  ingress_seq: string;
  sender_id: string;
  sender_attributes: { roles?: string[]; groups?: string[]; department?: string | null };
  kind: Message["kind"];
  body: string;
  reply_to: string | null;
  target_id: string | null;
  attachments: string[];
  client_msg_id: string | null;
  accepted_at: Date;
}

const messageColumns = `m.id, m.conversation_id, m.ingress_seq, m.sender_id, m.sender_attributes, m.kind, m.body, m.reply_to,
  m.target_id, m.attachments, m.client_msg_id, m.accepted_at`;

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    sender: {
      id: row.sender_id,
      roles: row.sender_attributes.roles ?? [],
      groups: row.sender_attributes.groups ?? [],
      department: row.sender_attributes.department ?? null,
    },
    kind: row.kind,
    text: row.body,
    replyTo: row.reply_to,
    targetId: row.target_id,
    attachments: row.attachments,
    clientMsgId: row.client_msg_id,
    acceptedAt: row.accepted_at.toISOString(),
  };
}

export interface MessageWithDecision {
  message: Message;
  decision: RoutingDecision | null;
}

const prefixedDecisionColumns = decisionColumns
  .split(", ")
  .map((column) => `d.${column} AS d_${column}`)
  .join(", ");

type JoinedRow = MessageRow & { [key: `d_${string}`]: unknown };

function toJoined(row: JoinedRow): MessageWithDecision {
  const decision =
    row.d_id === null
      ? null
      : toDecision(
          Object.fromEntries(
            decisionColumns.split(", ").map((column) => [column, row[`d_${column}`]]),
          ) as unknown as DecisionRow,
        );
  return { message: toMessage(row), decision };
}

export async function selectMessage(db: Queryable, id: string): Promise<MessageWithDecision | null> {
  const { rows } = await db.query<JoinedRow>(
    `SELECT ${messageColumns}, ${prefixedDecisionColumns}
     FROM messages m LEFT JOIN routing_decisions d ON d.message_id = m.id
     WHERE m.id = $1::uuid`,
    [id],
  );
  return rows[0] ? toJoined(rows[0]) : null;
}

/** History in acceptance order, after the message `afterId` when given. */
export async function selectHistory(
  db: Queryable,
  conversationId: string,
  afterId: string | null,
  limit: number,
): Promise<MessageWithDecision[]> {
  const { rows } = await db.query<JoinedRow>(
    `SELECT ${messageColumns}, ${prefixedDecisionColumns}
     FROM messages m LEFT JOIN routing_decisions d ON d.message_id = m.id
     WHERE m.conversation_id = $1::uuid
       AND m.ingress_seq > COALESCE((SELECT ingress_seq FROM messages WHERE id = $2::uuid), 0)
     ORDER BY m.ingress_seq
     LIMIT $3::int`,
    [conversationId, afterId, limit],
  );
  return rows.map(toJoined);
}

export interface MessageOwner {
  conversationId: string;
  senderId: string;
  kind: string;
}

/** Conversation, author and kind of stored messages, for checking what a reply or an edit names. */
export async function selectMessageOwners(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, MessageOwner>> {
  const { rows } = await db.query<{ id: string; conversation_id: string; sender_id: string; kind: string }>(
    `SELECT id, conversation_id, sender_id, kind FROM messages WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [r.id, { conversationId: r.conversation_id, senderId: r.sender_id, kind: r.kind }]),
  );
}
