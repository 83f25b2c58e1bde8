// SQL for conversations and their sticky sensitivity state.
import type pg from "pg";
import type { Binding, Conversation } from "../../policies/model.ts";

type Queryable = pg.Pool | pg.PoolClient;

export interface ConversationRow {
  id: string;
  title: string;
  labels: string[];
  members: string[];
  external_participants: boolean;
  bindings: Binding[];
  sensitive: boolean;
  // Dates arrive as Date from a column, as an ISO string from to_jsonb(): both are accepted.
  sensitive_since: Date | string | null;
  sensitive_reason: string | null;
  sensitive_decision_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const columns = `id, title, labels, members, external_participants, bindings, sensitive, sensitive_since,
  sensitive_reason, sensitive_decision_id, created_at, updated_at`;

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    labels: row.labels,
    members: row.members.map((id) => ({ id })),
    externalParticipants: row.external_participants,
    bindings: row.bindings,
    sensitivity: {
      sensitive: row.sensitive,
      since: row.sensitive_since === null ? null : new Date(row.sensitive_since).toISOString(),
      reason: row.sensitive_reason,
      decisionId: row.sensitive_decision_id,
    },
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export interface NewConversation {
  id: string;
  title: string;
  labels: string[];
  memberIds: string[];
  externalParticipants: boolean;
  createdBy: string;
}

export async function insertConversation(db: Queryable, input: NewConversation): Promise<Conversation> {
  const { rows } = await db.query<ConversationRow>(
    `INSERT INTO conversations (id, title, labels, members, external_participants, created_by)
     VALUES ($1::uuid, $2::text, $3::text[], $4::text[], $5::boolean, $6::text)
     RETURNING ${columns}`,
    [input.id, input.title, input.labels, input.memberIds, input.externalParticipants, input.createdBy],
  );
  return toConversation(rows[0] as ConversationRow);
}

export async function selectConversation(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Conversation | null> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${columns} FROM conversations WHERE id = $1::uuid${options.forUpdate ? " FOR UPDATE" : ""}`,
    [id],
  );
  return rows[0] ? toConversation(rows[0]) : null;
}

export interface ConversationPatch {
  title?: string;
  labels?: string[];
  memberIds?: string[];
}

export async function updateConversation(
  db: Queryable,
  id: string,
  patch: ConversationPatch,
): Promise<Conversation | null> {
  const { rows } = await db.query<ConversationRow>(
    `UPDATE conversations SET
       title = COALESCE($2::text, title),
       labels = COALESCE($3::text[], labels),
       members = COALESCE($4::text[], members),
       updated_at = now()
     WHERE id = $1::uuid
     RETURNING ${columns}`,
    [id, patch.title ?? null, patch.labels ?? null, patch.memberIds ?? null],
  );
  return rows[0] ? toConversation(rows[0]) : null;
}

/** Clears the sticky flag; only a security admin's audited declassification calls this. */
export async function clearSensitive(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE conversations SET sensitive = false, sensitive_since = NULL, sensitive_reason = NULL,
       sensitive_decision_id = NULL, updated_at = now()
     WHERE id = $1::uuid`,
    [id],
  );
}

/**
 * Sets the sticky flag because of the conversation's own attributes (labels, title, members):
 * only ever sets it, and keeps an earlier reason.
 */
export async function markSensitiveByAttributes(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE conversations SET sensitive = true, sensitive_since = now(), sensitive_reason = $2::text,
       updated_at = now()
     WHERE id = $1::uuid AND NOT sensitive`,
    [id, reason],
  );
}

/** Whether the conversation exists and the principal is one of its members. */
export type Membership = "member" | "not-member" | "no-conversation";

/**
 * Many membership checks in one statement, one answer per check in order: intake checks every
 * message's sender, and the requests in flight share a round trip through a batcher.
 */
export async function selectMemberships(
  db: Queryable,
  checks: ReadonlyArray<{ conversationId: string; principalId: string }>,
): Promise<Membership[]> {
  if (checks.length === 0) return [];
  const { rows } = await db.query<{ member: boolean | null }>(
    `SELECT t.principal_id = ANY(c.members) AS member
     FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(conversation_id, principal_id, ord)
     LEFT JOIN conversations c ON c.id = t.conversation_id
     ORDER BY t.ord`,
    [checks.map((c) => c.conversationId), checks.map((c) => c.principalId)],
  );
  return rows.map((row) => (row.member === null ? "no-conversation" : row.member ? "member" : "not-member"));
}

/** The live sticky flag alone (false for a conversation that does not exist). */
export async function isSensitive(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ sensitive: boolean }>(
    `SELECT sensitive FROM conversations WHERE id = $1::uuid`,
    [id],
  );
  return rows[0]?.sensitive === true;
}
