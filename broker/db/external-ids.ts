// SQL for the mapping between our message ids and a cloud's, per connector, both ways.
import type pg from "pg";
import type { MessageKind } from "../../policies/model.ts";

type Queryable = pg.Pool | pg.PoolClient;

export interface ExternalIdRow {
  messageId: string;
  conversationId: string;
  connector: string;
  /** The cloud's id of the message; for an edit, delete or reaction, of the message it applied to. */
  externalId: string;
  kind: MessageKind;
}

/** Records that `messageId` is in the cloud (or came from it); the first record stands. */
export async function insertExternalId(db: Queryable, row: ExternalIdRow): Promise<void> {
  await insertExternalIds(db, [row]);
}

/**
 * Records many in one statement (the relay gathers its partitions' records through a batcher).
 * Always resolves one `undefined` per row, in order, as a batcher expects.
 */
export async function insertExternalIds(db: Queryable, rows: readonly ExternalIdRow[]): Promise<undefined[]> {
  if (rows.length > 0) {
    await db.query(
      `INSERT INTO external_ids (message_id, conversation_id, connector, external_id, kind)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (message_id, connector) DO NOTHING`,
      [
        rows.map((r) => r.messageId),
        rows.map((r) => r.conversationId),
        rows.map((r) => r.connector),
        rows.map((r) => r.externalId),
        rows.map((r) => r.kind),
      ],
    );
  }
  return rows.map(() => undefined);
}

/**
 * The rows of one cloud id, found by `external_ids_reverse` before anything else is checked: with
 * `kind = 'message'` or the conversation beside them, PostgreSQL could prefer the partial index
 * `external_ids_conversation` and read every relayed message of the conversation (74 ms per
 * lookup once 75,000 were relayed, and growing).
 */
const sameCloudId = `SELECT message_id, kind, conversation_id, created_at, retract_started_at
  FROM external_ids WHERE connector = $1::text AND external_id = $2::text`;

/**
 * Our message for a cloud message id in one conversation (messages only, not the edits or
 * reactions aimed at it): an event never reaches into another conversation's messages.
 */
export async function selectMessageIdByExternalId(
  db: Queryable,
  connector: string,
  externalId: string,
  conversationId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ message_id: string }>(
    `WITH same_id AS MATERIALIZED (${sameCloudId})
     SELECT message_id FROM same_id WHERE kind = 'message' AND conversation_id = $3::uuid
     ORDER BY created_at LIMIT 1`,
    [connector, externalId, conversationId],
  );
  return rows[0]?.message_id ?? null;
}

/**
 * A conversation's messages still in the cloud, per connector, oldest first: what a retraction
 * deletes, whether or not the conversation is still bound there.
 */
export async function selectRetractable(
  db: Queryable,
  conversationId: string,
): Promise<Array<{ messageId: string; connector: string; externalId: string }>> {
  const { rows } = await db.query<{ message_id: string; connector: string; external_id: string }>(
    `SELECT message_id, connector, external_id FROM external_ids
     WHERE conversation_id = $1::uuid AND kind = 'message' AND retracted_at IS NULL
     ORDER BY created_at, message_id`,
    [conversationId],
  );
  return rows.map((r) => ({ messageId: r.message_id, connector: r.connector, externalId: r.external_id }));
}

/** Marks a retraction as under way, before the cloud call (see `isRetracted`). */
export async function markRetracting(db: Queryable, messageId: string, connector: string): Promise<void> {
  await db.query(
    `UPDATE external_ids SET retract_started_at = coalesce(retract_started_at, now())
     WHERE message_id = $1::uuid AND connector = $2::text`,
    [messageId, connector],
  );
}

/** Whether we are deleting or deleted this cloud message ourselves, so its delete event is our echo. */
export async function isRetracted(db: Queryable, connector: string, externalId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH same_id AS MATERIALIZED (${sameCloudId})
     SELECT 1 FROM same_id WHERE kind = 'message' AND retract_started_at IS NOT NULL`,
    [connector, externalId],
  );
  return (rowCount ?? 0) > 0;
}

export async function markRetracted(db: Queryable, messageId: string, connector: string): Promise<void> {
  await db.query(
    `UPDATE external_ids SET retracted_at = now()
     WHERE message_id = $1::uuid AND connector = $2::text AND retracted_at IS NULL`,
    [messageId, connector],
  );
}

/** The notice posted for one turn to sensitive, if any. */
export async function selectNotice(db: Queryable, cause: string, connector: string): Promise<string | null> {
  const { rows } = await db.query<{ external_id: string }>(
    `SELECT external_id FROM relay_notices WHERE cause = $1::text AND connector = $2::text`,
    [cause, connector],
  );
  return rows[0]?.external_id ?? null;
}

export async function insertNotice(
  db: Queryable,
  notice: { cause: string; connector: string; conversationId: string; externalId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO relay_notices (cause, connector, conversation_id, external_id)
     VALUES ($1::text, $2::text, $3::uuid, $4::text) ON CONFLICT DO NOTHING`,
    [notice.cause, notice.connector, notice.conversationId, notice.externalId],
  );
}
