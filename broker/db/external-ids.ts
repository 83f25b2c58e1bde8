// SQL for the mapping between our message ids and a cloud's, per connector.
import type pg from "pg";

type Queryable = pg.Pool | pg.PoolClient;

export async function insertExternalId(
  db: Queryable,
  messageId: string,
  connector: string,
  externalId: string,
): Promise<void> {
  await db.query(
    `INSERT INTO external_ids (message_id, connector, external_id) VALUES ($1::uuid, $2::text, $3::text)
     ON CONFLICT (message_id, connector) DO NOTHING`,
    [messageId, connector, externalId],
  );
}
