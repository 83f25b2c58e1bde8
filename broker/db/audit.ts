// The append-only, hash-chained audit log of security-relevant actions.
import { createHash } from "node:crypto";
import type pg from "pg";
import { canonical, genesisHash } from "./canonical.ts";

type Queryable = pg.Pool | pg.PoolClient;

export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  /** Never secrets nor message text: ids, versions, reasons written by the actor. */
  details: AuditDetails;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

// Serialises appends so each row chains to the one before it.
const auditLockKey = 0x61756469_74n;

function hashOf(prevHash: string, record: Omit<AuditRecord, "hash" | "prevHash">): string {
  const body = canonical([
    record.seq,
    record.at,
    record.actor,
    record.action,
    record.subject,
    record.details,
  ]);
  return createHash("sha256").update(prevHash).update(body).digest("hex");
}

/** Appends inside the caller's transaction, so the action and its audit row commit together. */
export async function appendAudit(client: pg.PoolClient, entry: AuditEntry): Promise<AuditRecord> {
  await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [auditLockKey.toString()]);
  const last = await client.query<{ seq: string; hash: string }>(
    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
  );
  const prevHash = last.rows[0]?.hash ?? genesisHash;
  const seq = Number(last.rows[0]?.seq ?? 0) + 1;
  const at = new Date().toISOString();
  const record = { seq, at, ...entry };
  const hash = hashOf(prevHash, record);
  await client.query(
    `INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
     VALUES ($1::bigint, $2::timestamptz, $3::text, $4::text, $5::text, $6::jsonb, $7::text, $8::text)`,
    [seq, at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details), prevHash, hash],
  );
  return { ...record, prevHash, hash };
}

interface AuditRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  details: AuditDetails;
  prev_hash: string;
  hash: string;
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export async function selectAudit(db: Queryable, subject?: string, limit = 100): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log
     WHERE $1::text IS NULL OR subject = $1::text ORDER BY seq DESC LIMIT $2::int`,
    [subject ?? null, limit],
  );
  return rows.map(toRecord);
}

export type ChainCheck = { ok: true; length: number } | { ok: false; brokenAt: number; length: number };

/** Recomputes every hash; the first row whose content or link does not match breaks the chain. */
export async function verifyAuditChain(db: Queryable): Promise<ChainCheck> {
  const { rows } = await db.query<AuditRow>(
    "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq",
  );
  let prevHash = genesisHash;
  for (const [index, row] of rows.entries()) {
    const record = toRecord(row);
    const expectedSeq = index + 1;
    if (
      record.seq !== expectedSeq ||
      record.prevHash !== prevHash ||
      hashOf(prevHash, record) !== record.hash
    ) {
      return { ok: false, brokenAt: expectedSeq, length: rows.length };
    }
    prevHash = record.hash;
  }
  return { ok: true, length: rows.length };
}
