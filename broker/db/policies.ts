// SQL for stored policy versions.
import type pg from "pg";

type Queryable = pg.Pool | pg.PoolClient;

export interface PolicyVersionRow {
  revision: number;
  version: string;
  content: string;
  contentHash: string;
  createdBy: string;
  comment: string;
  createdAt: string;
}

interface Row {
  revision: string;
  version: string;
  content: string;
  content_hash: string;
  created_by: string;
  comment: string;
  created_at: Date;
}

function toVersion(row: Row): PolicyVersionRow {
  return {
    revision: Number(row.revision),
    version: row.version,
    content: row.content,
    contentHash: row.content_hash,
    createdBy: row.created_by,
    comment: row.comment,
    createdAt: row.created_at.toISOString(),
  };
}

const columns = "revision, version, content, content_hash, created_by, comment, created_at";

/** Stores a version, or returns the stored one when the same `version` exists (any content). */
export async function insertPolicyVersion(
  db: Queryable,
  input: { version: string; content: string; contentHash: string; createdBy: string; comment: string },
): Promise<{ stored: PolicyVersionRow; created: boolean }> {
  const inserted = await db.query<Row>(
    `INSERT INTO policy_versions (version, content, content_hash, created_by, comment)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text)
     ON CONFLICT (version) DO NOTHING
     RETURNING ${columns}`,
    [input.version, input.content, input.contentHash, input.createdBy, input.comment],
  );
  if (inserted.rows[0]) return { stored: toVersion(inserted.rows[0]), created: true };
  const existing = await selectPolicyVersion(db, { version: input.version });
  if (!existing) throw new Error(`policy version ${input.version} vanished`);
  return { stored: existing, created: false };
}

export async function selectPolicyVersion(
  db: Queryable,
  by: { revision: number } | { version: string },
): Promise<PolicyVersionRow | null> {
  const { rows } =
    "revision" in by
      ? await db.query<Row>(`SELECT ${columns} FROM policy_versions WHERE revision = $1::bigint`, [
          by.revision,
        ])
      : await db.query<Row>(`SELECT ${columns} FROM policy_versions WHERE version = $1::text`, [by.version]);
  return rows[0] ? toVersion(rows[0]) : null;
}

export async function listPolicyVersions(
  db: Queryable,
  limit = 100,
): Promise<Omit<PolicyVersionRow, "content">[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${columns} FROM policy_versions ORDER BY revision DESC LIMIT $1::int`,
    [limit],
  );
  return rows.map((row) => {
    const { content: _content, ...rest } = toVersion(row);
    return rest;
  });
}
