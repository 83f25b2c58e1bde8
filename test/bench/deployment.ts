// One deployment for the bench: a fresh database and stream prefix, a fake Slack as the cloud, and
// one or more broker child processes (`watershed start`, as `npm start` runs it) sharing them.
// Conversations are made through the HTTP API and bound to channels of their own in the fake.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigInput } from "../../broker/config/index.ts";
import { startFakeSlack, type FakeSlack } from "../fakes/slack/index.ts";
import { Api } from "../helpers/api.ts";
import { startChildBroker, testConfigInput, type ChildBroker } from "../helpers/broker.ts";
import { createTestKeys, type TestKeys } from "../helpers/keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";
import { startProfiledBroker } from "./profiled-broker.ts";
import { errorText, ignoreClosingErrors } from "./util.ts";

/** The on-prem identity every bench message is sent as. */
export const benchSender = "bench-sender";

/** Far above what the bench sends, so the cloud's rate limits never shape the figures. */
const slackLimits = { perChannelPerSecond: 1000, perChannelBurst: 1000, overallPerSecond: 10_000 };

export interface DeploymentOptions {
  /** Broker child processes sharing the database and the streams. */
  brokers: number;
  /** `nats.partitions`. */
  partitions: number;
  /** `postgres.poolSize` of each broker. */
  poolSize: number;
  /** Write a V8 CPU profile of the first broker into this directory (`node --cpu-prof`). */
  profileDir?: string;
}

export interface BenchConversation {
  id: string;
  /** Labelled `finance`: sensitive from its creation, nothing of it goes to the cloud. */
  sensitive: boolean;
  /** The fake Slack channel it is bound to. */
  channel: string;
}

export interface Deployment {
  db: TestDatabase;
  prefix: string;
  partitions: number;
  slack: FakeSlack;
  brokers: ChildBroker[];
  /** A token for `benchSender`. */
  token: string;
  /** `count` fresh conversations, the first `sensitivePercent` % labelled `finance`, each bound to a channel. */
  createConversations(count: number, sensitivePercent: number, tag: string): Promise<BenchConversation[]>;
  /** Stops the brokers (SIGTERM, so a profile is written), the fake, and removes streams and database. */
  close(): Promise<string[]>;
}

/** SIGTERM (the broker closes, a profile is written), and SIGKILL if it has not exited 20 s later. */
async function stopBroker(broker: ChildBroker): Promise<void> {
  const timer = setTimeout(() => void broker.kill("SIGKILL"), 20_000);
  try {
    await broker.kill("SIGTERM");
  } finally {
    clearTimeout(timer);
  }
}

export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const keysDir = await mkdtemp(join(tmpdir(), "ws-bench-keys-"));
  const prefix = randomPrefix();
  const brokers: ChildBroker[] = [];
  let db: TestDatabase | undefined;
  let slack: FakeSlack | undefined;
  const close = async (): Promise<string[]> => {
    const errors: string[] = [];
    const steps: Array<[string, () => Promise<unknown>]> = [
      ["stop the brokers", () => Promise.all(brokers.map(stopBroker))],
      ["close the fake Slack", async () => slack?.close()],
      ["delete the streams", () => deleteStreams(prefix)],
      ["drop the database", async () => db?.drop()],
      ["remove the key directory", () => rm(keysDir, { recursive: true, force: true })],
    ];
    for (const [what, step] of steps) {
      await step().catch((error: unknown) => errors.push(`cleanup, ${what}: ${errorText(error)}`));
    }
    return errors;
  };
  try {
    db = await createTestDatabase();
    ignoreClosingErrors(db);
    const keys: TestKeys = await createTestKeys(keysDir);
    // No events URL and no echo: the bench measures the way out, not Slack's events coming back.
    slack = await startFakeSlack({ ...slackLimits, echoBotMessages: false });
    const input: ConfigInput = testConfigInput({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      overrides: {
        // The product's ack wait rather than the tests' short one, so a backlog is not redelivered.
        nats: { partitions: options.partitions, ackWaitMs: 30_000 },
        postgres: { poolSize: options.poolSize },
        connectors: {
          slack: {
            ...slackLimits,
            botToken: slack.botToken,
            signingSecret: slack.signingSecret,
            apiBaseUrl: slack.apiUrl,
            timeoutMs: 10_000,
          },
        },
      },
    });
    for (let i = 0; i < options.brokers; i++) {
      // One at a time: the first migrates the database and creates the streams.
      const label = `bench broker ${i + 1}`;
      brokers.push(
        i === 0 && options.profileDir !== undefined
          ? await startProfiledBroker(input, options.profileDir, label)
          : await startChildBroker(input, label),
      );
    }
    const token = await keys.token(benchSender);
    const api = new Api((brokers[0] as ChildBroker).url, token);
    const fake = slack;
    return {
      db,
      prefix,
      partitions: options.partitions,
      slack: fake,
      brokers,
      token,
      async createConversations(count, sensitivePercent, tag) {
        const sensitiveCount = Math.round((count * sensitivePercent) / 100);
        const made: BenchConversation[] = [];
        for (let i = 0; i < count; i++) {
          const sensitive = i < sensitiveCount;
          const name = `${tag}-${i}`;
          const id = await api.createConversation({ title: name, labels: sensitive ? ["finance"] : [] });
          const channel = fake.createChannel(name);
          const bound = await api.request("PUT", `/v1/conversations/${id}/bindings`, {
            bindings: [{ connector: "slack", channel }],
          });
          if (bound.status !== 200)
            throw new Error(`bind ${name}: ${bound.status} ${JSON.stringify(bound.body)}`);
          made.push({ id, sensitive, channel });
        }
        return made;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
