// SQL for files: their rows, extracted texts and cloud ids.
import type pg from "pg";

type Queryable = pg.Pool | pg.PoolClient;

export interface FileRecord {
  id: string;
  conversationId: string;
  uploadedBy: string;
  name: string;
  declaredType: string | null;
  mediaType: string;
  size: number;
  sha256: string;
  store: "nats" | "s3";
  inspectable: boolean;
  inspectionReason: string | null;
  createdAt: string;
}

interface FileRow {
  id: string;
  conversation_id: string;
  uploaded_by: string;
  name: string;
  declared_type: string | null;
  media_type: string;
  size: string;
  sha256: string;
  store: "nats" | "s3";
  inspectable: boolean;
  inspection_reason: string | null;
  created_at: Date;
}

const columns = `id, conversation_id, uploaded_by, name, declared_type, media_type, size, sha256, store,
  inspectable, inspection_reason, created_at`;

function toFile(row: FileRow): FileRecord {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    uploadedBy: row.uploaded_by,
    name: row.name,
    declaredType: row.declared_type,
    mediaType: row.media_type,
    size: Number(row.size),
    sha256: row.sha256,
    store: row.store,
    inspectable: row.inspectable,
    inspectionReason: row.inspection_reason,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * Records a stored file and its text. When the conversation already has these bytes, nothing is
 * inserted and the existing file is returned with `created: false` (the caller drops its copy).
 */
export async function insertFile(
  client: pg.PoolClient,
  file: Omit<FileRecord, "createdAt">,
  text: string | null,
): Promise<{ file: FileRecord; created: boolean }> {
  const { rows } = await client.query<FileRow>(
    `INSERT INTO files (id, conversation_id, uploaded_by, name, declared_type, media_type, size, sha256, store,
       inspectable, inspection_reason)
     VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text,
       $10::boolean, $11::text)
     ON CONFLICT (conversation_id, sha256) DO NOTHING
     RETURNING ${columns}`,
    [
      file.id,
      file.conversationId,
      file.uploadedBy,
      file.name,
      file.declaredType,
      file.mediaType,
      file.size,
      file.sha256,
      file.store,
      file.inspectable,
      file.inspectionReason,
    ],
  );
  const inserted = rows[0];
  if (inserted) {
    if (text !== null) {
      await client.query(`INSERT INTO file_texts (file_id, text) VALUES ($1::uuid, $2::text)`, [
        file.id,
        text,
      ]);
    }
    return { file: toFile(inserted), created: true };
  }
  const existing = await selectFileBySha(client, file.conversationId, file.sha256);
  if (!existing) throw new Error("file conflict found no existing row");
  return { file: existing, created: false };
}

export async function selectFileBySha(
  db: Queryable,
  conversationId: string,
  sha256: string,
): Promise<FileRecord | null> {
  const { rows } = await db.query<FileRow>(
    `SELECT ${columns} FROM files WHERE conversation_id = $1::uuid AND sha256 = $2::text`,
    [conversationId, sha256],
  );
  return rows[0] ? toFile(rows[0]) : null;
}

/** The conversation of each of these files that exists. */
export async function selectFileConversations(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; conversation_id: string }>(
    `SELECT id, conversation_id FROM files WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.conversation_id]));
}

export async function selectFiles(db: Queryable, ids: readonly string[]): Promise<Map<string, FileRecord>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<FileRow>(`SELECT ${columns} FROM files WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((row) => [row.id, toFile(row)]));
}

export async function selectFile(db: Queryable, id: string): Promise<FileRecord | null> {
  const { rows } = await db.query<FileRow>(`SELECT ${columns} FROM files WHERE id = $1::uuid`, [id]);
  return rows[0] ? toFile(rows[0]) : null;
}

/** Files with their extracted text, for the policy; in the order asked, missing ones left out. */
export async function selectFilesForPolicy(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, FileRecord & { text: string | null }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<FileRow & { text: string | null }>(
    `SELECT ${columns.replaceAll(/(\w+)/g, "f.$1")}, t.text
     FROM files f LEFT JOIN file_texts t ON t.file_id = f.id WHERE f.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, { ...toFile(row), text: row.text }]));
}

export interface FileExternalId {
  fileId: string;
  messageId: string;
  connector: string;
  externalId: string;
  /** The cloud id of the message sharing the file, when known. */
  shareExternalId: string | null;
  conversationId: string;
  origin: "relayed" | "inbound";
}

export async function insertFileExternalId(db: Queryable, row: FileExternalId): Promise<void> {
  await db.query(
    `INSERT INTO file_external_ids (file_id, message_id, connector, external_id, share_external_id,
       conversation_id, origin)
     VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::uuid, $7::text) ON CONFLICT DO NOTHING`,
    [
      row.fileId,
      row.messageId,
      row.connector,
      row.externalId,
      row.shareExternalId,
      row.conversationId,
      row.origin,
    ],
  );
}

/** Which of a message's files are already in the cloud of `connector`: file id → sharing message's cloud id. */
export async function selectUploadedFiles(
  db: Queryable,
  messageId: string,
  connector: string,
): Promise<Map<string, string | null>> {
  const { rows } = await db.query<{ file_id: string; share_external_id: string | null }>(
    `SELECT file_id, share_external_id FROM file_external_ids
     WHERE message_id = $1::uuid AND connector = $2::text`,
    [messageId, connector],
  );
  return new Map(rows.map((r) => [r.file_id, r.share_external_id]));
}

/** A conversation's files still in a cloud: what a retraction deletes besides the messages. */
export async function selectRetractableFiles(
  db: Queryable,
  conversationId: string,
): Promise<Array<{ fileId: string; messageId: string; connector: string; externalId: string }>> {
  const { rows } = await db.query<{
    file_id: string;
    message_id: string;
    connector: string;
    external_id: string;
  }>(
    `SELECT file_id, message_id, connector, external_id FROM file_external_ids
     WHERE conversation_id = $1::uuid AND retracted_at IS NULL ORDER BY created_at`,
    [conversationId],
  );
  return rows.map((r) => ({
    fileId: r.file_id,
    messageId: r.message_id,
    connector: r.connector,
    externalId: r.external_id,
  }));
}

export async function markFileRetracted(
  db: Queryable,
  row: { fileId: string; messageId: string; connector: string },
  stage: "started" | "done",
): Promise<void> {
  const column = stage === "started" ? "retract_started_at" : "retracted_at";
  await db.query(
    `UPDATE file_external_ids SET ${column} = coalesce(${column}, now())
     WHERE file_id = $1::uuid AND message_id = $2::uuid AND connector = $3::text`,
    [row.fileId, row.messageId, row.connector],
  );
}
