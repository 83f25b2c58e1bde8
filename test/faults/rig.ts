// What every fault scenario stands on: a broker child process on private services, the fake Slack
// as its cloud, a test identity provider, and a pool that reads the broker's database directly.
// The rig restarts the broker when it dies without being told to, as a supervisor would, and
// keeps the count: a broker that exits on its own under a fault is reported.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { ConfigInput } from "../../broker/config/index.ts";
import { startFakeSlack, type FakeSlack } from "../fakes/slack/index.ts";
import { startChildBroker, testConfigInput, type ChildBroker } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import { freePort } from "./services.ts";

export interface RigOptions {
  /** NATS URLs the broker is configured with (maybe through a proxy). */
  natsServers: string[];
  /** NATS URLs the checker reads stream state from, directly. @default natsServers */
  adminNatsServers?: string[];
  /** The PostgreSQL server holding the broker's database, reached directly by the checker. */
  postgresUrl: string;
  /** How the broker reaches that server (maybe through a proxy). @default postgresUrl */
  brokerPostgresUrl?: string;
  /** Stream replicas (`nats.replicas`). @default 1 */
  replicas?: number;
  /** Ordered partitions (`nats.partitions`). @default 8 */
  partitions?: number;
}

export interface BrokerExit {
  /** Seconds since the rig started. */
  at: number;
  code: number | null;
  signal: string | null;
  /** The last lines the broker wrote. */
  lastOutput: string;
}

export interface Rig {
  slack: FakeSlack;
  /** The broker's database, read directly. */
  pool: pg.Pool;
  prefix: string;
  adminNatsServers: string[];
  /** The broker's base URL (a fixed port, the same across restarts). */
  url: string;
  /** A token for the user the workload posts as. */
  token: string;
  /** Exits the rig did not ask for, each followed by a restart. */
  unexpectedExits: BrokerExit[];
  /** Kills the broker with `signal` and starts a new one; resolves once it listens. */
  restartBroker(signal?: NodeJS.Signals): Promise<void>;
  /** Warnings and errors the brokers logged, counted by message. */
  logSummary(): Record<string, number>;
  close(): Promise<void>;
}

const prefix = "faults";
const databaseName = "watershed";

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Counts the warn and error lines of a broker's JSON log by their `msg` and the error's message. */
function countWarnings(output: string, into: Record<string, number>): void {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) < 40) continue;
      // Ids and numbers vary from line to line; the kind of error does not.
      const cause = (entry.err?.message ?? "").replace(/[0-9a-f-]{8,}|\d+/g, "#").slice(0, 100);
      const key = `${(entry.level ?? 0) >= 50 ? "error" : "warn"}: ${entry.msg ?? "?"}${cause ? ` (${cause})` : ""}`;
      into[key] = (into[key] ?? 0) + 1;
    } catch {
      // A line cut short by a SIGKILL.
    }
  }
}

/** SIGTERM, then SIGKILL if the broker has not exited after `graceMs` (a shutdown stuck on a dead service). */
async function stopChild(child: ChildBroker, graceMs: number): Promise<void> {
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  try {
    await child.kill("SIGTERM");
  } finally {
    clearTimeout(timer);
  }
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const started = Date.now();
  const keysDir = await mkdtemp(join(tmpdir(), "ws-faults-keys-"));
  const keys = await createTestKeys(keysDir);
  // High limits on both sides: the scenarios measure faults, not Slack's pacing.
  const slack = await startFakeSlack({
    perChannelPerSecond: 1000,
    perChannelBurst: 1000,
    echoBotMessages: false,
  });
  const port = await freePort();
  const overrides: Partial<ConfigInput> = {
    http: { host: "127.0.0.1", port },
    postgres: {
      url: withDatabase(options.brokerPostgresUrl ?? options.postgresUrl, databaseName),
      poolSize: 10,
    },
    nats: {
      servers: options.natsServers,
      prefix,
      partitions: options.partitions ?? Number(process.env.FAULTS_PARTITIONS ?? 8),
      ackWaitMs: 5000,
      replicas: options.replicas ?? 1,
    },
    // A 60-second outage must not use up the attempts: at most 1 s between tries, many tries.
    relay: { maxAttempts: 1000, backoffBaseMs: 100, backoffMaxMs: 1000 },
    connectors: {
      slack: {
        botToken: slack.botToken,
        signingSecret: slack.signingSecret,
        apiBaseUrl: slack.apiUrl,
        perChannelPerSecond: 1000,
        perChannelBurst: 100,
        overallPerSecond: 10_000,
        timeoutMs: 1000,
      },
    },
  };
  const config = testConfigInput({
    databaseUrl: withDatabase(options.brokerPostgresUrl ?? options.postgresUrl, databaseName),
    prefix,
    jwksFile: keys.jwksFile,
    overrides,
  });
  const pool = new pg.Pool({ connectionString: withDatabase(options.postgresUrl, databaseName), max: 4 });
  pool.on("error", () => {});

  const unexpectedExits: BrokerExit[] = [];
  const warnings: Record<string, number> = {};
  let broker: ChildBroker | null = null;
  let closing = false;
  let restarting: Promise<void> | null = null;

  const launch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const child = await startChildBroker(config, "fault broker");
        broker = child;
        child.process.once("exit", (code, signal) => {
          countWarnings(child.output(), warnings);
          if (broker !== child || closing) return;
          // Nobody asked it to stop: record it and start another one.
          broker = null;
          unexpectedExits.push({
            at: (Date.now() - started) / 1000,
            code,
            signal,
            lastOutput: child.output().split("\n").slice(-15).join("\n"),
          });
          restarting ??= launch().finally(() => (restarting = null));
        });
        return;
      } catch (error) {
        // A service the broker needs at start may be away for a moment (a restart under way).
        if (closing || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  // The suite stopped from outside must not leave a broker behind.
  const killOnExit = () => void (broker as ChildBroker | null)?.process.kill("SIGKILL");
  process.on("exit", killOnExit);
  try {
    await launch();
  } catch (error) {
    process.off("exit", killOnExit);
    await slack.close();
    await pool.end();
    throw error;
  }

  return {
    slack,
    pool,
    prefix,
    adminNatsServers: options.adminNatsServers ?? options.natsServers,
    url: `http://127.0.0.1:${port}`,
    token: await keys.token("alice"),
    unexpectedExits,
    async restartBroker(signal = "SIGKILL") {
      if (restarting) await restarting;
      const current: ChildBroker | null = broker;
      broker = null;
      await current?.kill(signal);
      await launch();
    },
    logSummary: () => {
      const summary = { ...warnings };
      if (broker) countWarnings(broker.output(), summary);
      return summary;
    },
    async close() {
      closing = true;
      if (restarting) await restarting.catch(() => {});
      const current: ChildBroker | null = broker;
      if (current) await stopChild(current, 10_000);
      process.off("exit", killOnExit);
      await slack.close();
      await pool.end();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
}
