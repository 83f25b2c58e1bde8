// Part 1, the raw limits: how fast JetStream takes acknowledged publishes and PostgreSQL takes batched
// inserts on this machine, with nothing of Watershed in between.
import { randomBytes, randomUUID } from "node:crypto";
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { createTestDatabase, natsUrl } from "../helpers/services.ts";
import { ignoreClosingErrors, MiB, randomText, runLanes } from "./util.ts";

export interface JetStreamResult {
  label: string;
  messages: number;
  messageBytes: number;
  inFlight: number;
  seconds: number;
  msgsPerSecond: number;
  mbPerSecond: number;
  failures: number;
}

export interface JetStreamSettings {
  prefix: string;
  messages: number;
  messageBytes: number;
  inFlight: number;
}

/**
 * Acknowledged publishes to a file-backed stream of its own, `inFlight` publishes pipelined.
 * Measured twice: plain, and with a message id as the broker sends (the server then checks its
 * duplicate window too).
 */
export async function benchJetStream(
  settings: JetStreamSettings,
): Promise<{ results: JetStreamResult[]; serverVersion: string }> {
  const nc = await connect({ servers: natsUrl, name: "watershed-bench-raw" });
  const stream = `${settings.prefix.toUpperCase()}_BENCH`;
  const subject = `${settings.prefix}.bench.raw`;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${settings.prefix}.bench.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: 1,
      duplicate_window: nanos(2 * 60 * 1000),
    });
    const js = jetstream(nc, { timeout: 30_000 });
    const payload = randomBytes(settings.messageBytes);
    // Warm-up: connection, stream files and the JIT, not measured.
    await runLanes(Math.min(2000, settings.messages), settings.inFlight, async () => {
      await js.publish(subject, payload);
    });

    const results: JetStreamResult[] = [];
    for (const withId of [false, true]) {
      const start = performance.now();
      const { failures } = await runLanes(settings.messages, settings.inFlight, async () => {
        await js.publish(subject, payload, withId ? { msgID: randomUUID() } : undefined);
      });
      const seconds = (performance.now() - start) / 1000;
      const ok = settings.messages - failures;
      results.push({
        label: withId ? "JetStream publish, with msgID (dedup)" : "JetStream publish",
        messages: settings.messages,
        messageBytes: settings.messageBytes,
        inFlight: settings.inFlight,
        seconds,
        msgsPerSecond: ok / seconds,
        mbPerSecond: (ok * settings.messageBytes) / MiB / seconds,
        failures,
      });
    }
    return { results, serverVersion: nc.info?.version ?? "unknown" };
  } finally {
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(stream).catch(() => false);
    } finally {
      await nc.close();
    }
  }
}

export interface PostgresResult {
  rows: number;
  rowBytes: number;
  batch: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  serverVersion: string;
}

export interface PostgresSettings {
  rows: number;
  rowBytes: number;
  batch: number;
}

/**
 * Batched inserts into a table shaped like `messages` (uuid key, a secondary index, a text body),
 * one INSERT ... SELECT FROM unnest(...) per batch, one batch at a time on one connection, each its
 * own committed transaction: what the store worker does.
 */
export async function benchPostgres(settings: PostgresSettings): Promise<PostgresResult> {
  const db = await createTestDatabase();
  ignoreClosingErrors(db);
  try {
    const client = await db.pool.connect();
    try {
      const version = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]
        ?.server_version;
      await client.query(`CREATE TABLE bench_rows (
        id uuid PRIMARY KEY,
        conversation_id uuid NOT NULL,
        seq bigint NOT NULL,
        body text NOT NULL,
        accepted_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      )`);
      await client.query("CREATE INDEX bench_rows_history ON bench_rows (conversation_id, seq)");
      const conversations = Array.from({ length: 100 }, () => randomUUID());
      // A few distinct bodies, so the rows are not all the same text.
      const bodies = Array.from({ length: 16 }, () => randomText(settings.rowBytes));
      let seq = 0;
      const insertBatch = async (size: number) => {
        const ids: string[] = [];
        const convs: string[] = [];
        const seqs: number[] = [];
        const texts: string[] = [];
        const accepted: string[] = [];
        const now = new Date().toISOString();
        for (let i = 0; i < size; i++) {
          seq += 1;
          ids.push(randomUUID());
          convs.push(conversations[seq % conversations.length] as string);
          seqs.push(seq);
          texts.push(bodies[seq % bodies.length] as string);
          accepted.push(now);
        }
        await client.query(
          `INSERT INTO bench_rows (id, conversation_id, seq, body, accepted_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::timestamptz[])`,
          [ids, convs, seqs, texts, accepted],
        );
      };
      await insertBatch(settings.batch); // warm-up
      const start = performance.now();
      for (let done = 0; done < settings.rows; done += settings.batch) {
        await insertBatch(Math.min(settings.batch, settings.rows - done));
      }
      const seconds = (performance.now() - start) / 1000;
      return {
        rows: settings.rows,
        rowBytes: settings.rowBytes,
        batch: settings.batch,
        seconds,
        rowsPerSecond: settings.rows / seconds,
        mbPerSecond: (settings.rows * settings.rowBytes) / MiB / seconds,
        serverVersion: version ?? "unknown",
      };
    } finally {
      client.release();
    }
  } finally {
    await db.drop();
  }
}
