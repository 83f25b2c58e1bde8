// The PostgreSQL pool, creating the database on first start so `npm start` works on a fresh machine.
import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

const invalidCatalogName = "3D000";

export async function openPool(url: string, max: number): Promise<pg.Pool> {
  await ensureDatabase(url);
  const pool = new pg.Pool({ connectionString: url, max, application_name: "watershed" });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  return pool;
}

async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== invalidCatalogName) throw error;
  } finally {
    await probe.end().catch(() => {});
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: target.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    // Another instance created it first: 42P04, or 23505 when both inserted into pg_database at once.
    const code = (error as { code?: string }).code;
    if (code !== "42P04" && code !== "23505") throw error;
  } finally {
    await admin.end();
  }
}

export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
