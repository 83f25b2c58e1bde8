// Migrations against a fresh database: several instances migrating at once apply each step once,
// the schema of 001_init.sql is all there, and its sticky-sensitivity constraint holds.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/services.ts";
import { migrate, type MigrationReport } from "./migrate.ts";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));
const checkViolation = "23514";

describe("migrate", () => {
  let db: TestDatabase;
  let files: string[];
  let reports: MigrationReport[];

  before(async () => {
    db = await createTestDatabase();
    files = (await readdir(migrationsDir)).filter((name) => /^\d{3}_.+\.sql$/.test(name)).sort();
    assert.ok(files.includes("001_init.sql"), `migrations: ${files.join(", ")}`);
  });

  after(async () => {
    await db.drop();
  });

  test("four instances migrating at once apply each migration exactly once", async () => {
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: db.url, max: 2 }));
    try {
      reports = await Promise.all(pools.map((pool) => migrate(pool)));
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const { rows } = await db.pool.query<{ name: string; count: string }>(
      "SELECT name, count(*) AS count FROM schema_migrations GROUP BY name ORDER BY name",
    );
    assert.deepEqual(
      rows.map((row) => [row.name, Number(row.count)]),
      files.map((name) => [name, 1]),
    );
    // The lock is held for the whole run: one instance applies everything, the others find it done.
    const appliers = reports.filter((report) => report.applied.length > 0);
    assert.equal(appliers.length, 1, JSON.stringify(reports));
    assert.deepEqual(appliers[0], { applied: files, alreadyApplied: [] });
    for (const report of reports.filter((r) => r !== appliers[0])) {
      assert.deepEqual(report, { applied: [], alreadyApplied: files });
    }
  });

  test("another run afterwards applies nothing", async () => {
    assert.deepEqual(await migrate(db.pool), { applied: [], alreadyApplied: files });
  });

  test("every table and index of 001_init.sql exists", async () => {
    const sql = await readFile(migrationsDir + "001_init.sql", "utf8");
    const tables = [...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/gi)].map((m) => m[1] as string);
    const indexes = [...sql.matchAll(/CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(\w+)/gi)].map(
      (m) => m[1] as string,
    );
    for (const expected of ["conversations", "messages", "routing_decisions", "client_message_ids"]) {
      assert.ok(tables.includes(expected), `001_init.sql no longer creates ${expected}?`);
    }
    const present = await db.pool.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
    );
    const presentTables = new Set(present.rows.map((row) => row.name));
    for (const table of tables) assert.ok(presentTables.has(table), `table ${table} is missing`);

    const presentIndexes = await db.pool.query<{ name: string }>(
      "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'",
    );
    const indexNames = new Set(presentIndexes.rows.map((row) => row.name));
    for (const index of indexes) assert.ok(indexNames.has(index), `index ${index} is missing`);
  });

  describe("conversations: sensitive and sensitive_since go together", () => {
    const insert = (sensitive: boolean, since: Date | null) =>
      db.pool.query(
        `INSERT INTO conversations (id, title, created_by, sensitive, sensitive_since)
         VALUES ($1, 'sticky', 'alice', $2, $3)`,
        [randomUUID(), sensitive, since],
      );

    test("sensitive without sensitive_since is refused", async () => {
      await assert.rejects(insert(true, null), (error: { code?: string; message: string }) => {
        assert.equal(error.code, checkViolation, error.message);
        return true;
      });
    });

    test("sensitive_since on a conversation that is not sensitive is refused", async () => {
      await assert.rejects(insert(false, new Date()), (error: { code?: string; message: string }) => {
        assert.equal(error.code, checkViolation, error.message);
        return true;
      });
    });

    test("consistent rows are accepted", async () => {
      await insert(true, new Date());
      await insert(false, null);
      const { rows } = await db.pool.query<{ sensitive: boolean; n: string }>(
        "SELECT sensitive, count(*) AS n FROM conversations GROUP BY sensitive ORDER BY sensitive",
      );
      assert.deepEqual(
        rows.map((row) => [row.sensitive, Number(row.n)]),
        [
          [false, 1],
          [true, 1],
        ],
      );
    });
  });
});
