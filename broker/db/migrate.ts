// Numbered SQL migrations, each in its own transaction, under an advisory lock so two
// instances starting together apply each step once.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type pg from "pg";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));
// Arbitrary but fixed: "wtrshd" as a number, so other tools' advisory locks do not collide.
const migrationLockKey = 0x77747273_6864n;

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(pool: pg.Pool): Promise<MigrationReport> {
  const files = (await readdir(migrationsDir)).filter((name) => /^\d{3}_.+\.sql$/.test(name)).sort();
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [migrationLockKey.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map(
        (row) => row.name,
      ),
    );
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    for (const name of files) {
      if (done.has(name)) {
        report.alreadyApplied.push(name);
        continue;
      }
      const sql = await readFile(migrationsDir + name, "utf8");
      await client.query("BEGIN");
      try {
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [name]);
        await client.query(sql);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      report.applied.push(name);
    }
    return report;
  } finally {
    await client
      .query("SELECT pg_advisory_unlock($1::bigint)", [migrationLockKey.toString()])
      .catch(() => {});
    client.release();
  }
}
