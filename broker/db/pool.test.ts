// Several instances starting on a fresh server create the missing database once, without error.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { postgresAdminUrl } from "../../test/helpers/services.ts";
import { openPool } from "./pool.ts";

test("four instances opening a missing database at once all succeed", async () => {
  const name = `ws_test_create_${randomBytes(4).toString("hex")}`;
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  const pools: pg.Pool[] = [];
  try {
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => openPool(url.toString(), 1)));
    for (const result of results) if (result.status === "fulfilled") pools.push(result.value);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "fulfilled", "fulfilled"],
      String(results.find((r) => r.status === "rejected")?.reason),
    );
    const { rows } = await pools[0]!.query<{ db: string }>("SELECT current_database() AS db");
    assert.equal(rows[0]?.db, name);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
