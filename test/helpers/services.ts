// Real services for tests: a fresh PostgreSQL database and a private NATS stream prefix per test
// file, both removed at the end, so test files can run side by side on the shared servers.
import { randomBytes } from "node:crypto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";

export const postgresAdminUrl =
  process.env.WATERSHED_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const natsUrl = process.env.WATERSHED_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ws_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  // DROP ... WITH (FORCE) below ends idle clients that pool.end() has not closed yet: expected.
  pool.on("error", () => {});
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export function randomPrefix(): string {
  return `t${randomBytes(5).toString("hex")}`;
}

export interface TestStream {
  name: string;
  /** The stream's subject ending in `last`. */
  subject(last: string | number): string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  drop(): Promise<void>;
}

/**
 * A stream of its own for a test file, as `createTestDatabase` is a database: on subjects
 * `<random prefix>.<token>.*`, with the connection that made it; `drop()` deletes the stream and
 * closes the connection.
 */
export async function createTestStream(token: string): Promise<TestStream> {
  const prefix = randomPrefix();
  const name = `${prefix.toUpperCase()}_${token.toUpperCase()}`;
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${prefix}.${token}.*`] });
  return {
    name,
    subject: (last) => `${prefix}.${token}.${last}`,
    nc,
    jsm,
    async drop() {
      await jsm.streams.delete(name);
      await nc.close();
    },
  };
}

/** Deletes every stream and bucket of a test prefix. */
export async function deleteStreams(prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    // The four streams and the policy KV bucket (a stream named KV_<bucket>).
    for (const suffix of ["INGRESS", "ONPREM", "RELAY", "DLQ"]) {
      await jsm.streams.delete(`${prefix.toUpperCase()}_${suffix}`).catch(() => false);
    }
    await jsm.streams.delete(`KV_${prefix.toUpperCase()}_POLICY`).catch(() => false);
    // The file store's object bucket (a stream named OBJ_<bucket>).
    await jsm.streams.delete(`OBJ_${prefix.toUpperCase()}_FILES`).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Messages currently held in a stream of the prefix (e.g. "INGRESS"). */
export async function streamMessageCount(prefix: string, suffix: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`${prefix.toUpperCase()}_${suffix}`);
    return info.state.messages;
  } finally {
    await nc.close();
  }
}
