// One broker wired to a fake Slack, for the integration tests of the Slack connector: a private
// database and stream prefix, a test identity provider, and users and channels made up front.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type Broker } from "../../broker/app.ts";
import type { ConfigInput } from "../../broker/config/index.ts";
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from "../fakes/slack/index.ts";
import { Api } from "./api.ts";
import { testConfig } from "./broker.ts";
import { createTestKeys, type TestKeys } from "./keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "./services.ts";

export interface SlackSetup {
  db: TestDatabase;
  slack: FakeSlack;
  broker: Broker;
  keys: TestKeys;
  prefix: string;
  /** Alice: on-prem user, mapped to the Slack user `aliceSlack`. */
  api: Api;
  aliceSlack: string;
  /** A Slack user with no on-prem mapping. */
  strangerSlack: string;
  /** Stops the broker and starts it again with these Slack settings (e.g. a new token). */
  restart(slackOverrides?: Partial<SlackSettings>): Promise<void>;
  /** A conversation of Alice's bound to a new Slack channel. */
  boundConversation(name: string, labels?: string[]): Promise<{ conversationId: string; channel: string }>;
  close(): Promise<void>;
}

export interface SlackSettings {
  botToken: string;
  adminToken?: string;
  perChannelPerSecond: number;
  perChannelBurst: number;
  overallPerSecond: number;
  timeoutMs: number;
}

export interface SlackSetupOptions {
  fake?: FakeSlackOptions;
  slack?: Partial<SlackSettings>;
  overrides?: Partial<ConfigInput>;
}

export async function startSlackSetup(options: SlackSetupOptions = {}): Promise<SlackSetup> {
  const db = await createTestDatabase();
  const prefix = randomPrefix();
  const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  const slack = await startFakeSlack({ perChannelPerSecond: 50, perChannelBurst: 10, ...options.fake });
  const aliceSlack = slack.createUser("alice");
  const strangerSlack = slack.createUser("stranger");
  let settings: SlackSettings = {
    botToken: slack.botToken,
    adminToken: slack.adminToken,
    perChannelPerSecond: 50,
    perChannelBurst: 10,
    // Above what the tests send, so the per-channel limits are what they measure.
    overallPerSecond: 500,
    timeoutMs: 1000,
    ...options.slack,
  };
  const configFor = (current: SlackSettings) =>
    testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      overrides: {
        ...options.overrides,
        connectors: {
          slack: {
            ...current,
            signingSecret: slack.signingSecret,
            apiBaseUrl: slack.apiUrl,
            users: { [aliceSlack]: "alice" },
          },
        },
      },
    });
  let broker = await startBroker(configFor(settings));
  slack.setEventsUrl(`${broker.url}/v1/connectors/slack/events`);
  const api = new Api(broker.url, await keys.token("alice"));

  const setup: SlackSetup = {
    db,
    slack,
    get broker() {
      return broker;
    },
    keys,
    prefix,
    get api() {
      return api.at(broker.url);
    },
    aliceSlack,
    strangerSlack,
    async restart(slackOverrides = {}) {
      await broker.close();
      settings = { ...settings, ...slackOverrides };
      broker = await startBroker(configFor(settings));
      slack.setEventsUrl(`${broker.url}/v1/connectors/slack/events`);
    },
    async boundConversation(name, labels = []) {
      const channel = slack.createChannel(name);
      const current = api.at(broker.url);
      const conversationId = await current.createConversation({ title: name, labels });
      const bound = await current.request("PUT", `/v1/conversations/${conversationId}/bindings`, {
        bindings: [{ connector: "slack", channel }],
      });
      if (bound.status !== 200) throw new Error(`bind: ${bound.status} ${JSON.stringify(bound.body)}`);
      return { conversationId, channel };
    },
    async close() {
      await broker.close();
      await slack.close();
      await deleteStreams(prefix);
      await db.drop();
    },
  };
  return setup;
}
