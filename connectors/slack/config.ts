// The Slack connector's config, validated before a connector is made from it.
import { z } from "zod";

/** A Slack user id (U…/W…): the key of the `users` identity map. */
const SlackUserId = z.string().regex(/^[UW][A-Z0-9]{1,40}$/, "a Slack user id such as U0123ABCD");

/** Lets `WATERSHED_CONNECTORS_SLACK_USERS` carry the map as JSON; anything unparseable is left to fail validation. */
function jsonObjectFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

export const SlackConfig = z.strictObject({
  /**
   * The bot token of the Slack app (xoxb-…); posts, edits, deletes its own posts and reacts.
   * Scopes: chat:write, chat:write.customize, reactions:write, channels:history, groups:history,
   * and files:write with files:read for sharing files.
   */
  botToken: z
    .string()
    .regex(/^xoxb-[A-Za-z0-9-]+$/, "a bot token starting with xoxb-")
    .describe("Bot token (xoxb-…) of the Slack app (turns the connector on)."),
  /** Signs every Events API delivery; see https://docs.slack.dev/authentication/verifying-requests-from-slack */
  signingSecret: z
    .string()
    .min(1)
    .describe("Signing secret of the Slack app, to verify Events API deliveries."),
  /**
   * A workspace admin's user token, used only to retract messages and files written by Slack
   * users: a bot may delete only its own (https://docs.slack.dev/reference/methods/chat.delete,
   * https://docs.slack.dev/reference/methods/files.delete).
   */
  adminToken: z
    .string()
    .regex(/^xox[pe]-[A-Za-z0-9-]+$/, "a user token starting with xoxp- or xoxe-")
    .optional()
    .describe("Admin user token (xoxp-…), only to retract messages and files written by Slack users."),
  /**
   * Base URL of the Web API, method names are appended to it.
   * @default "https://slack.com/api/"
   */
  apiBaseUrl: z
    .url({ protocol: /^https?$/ })
    .default("https://slack.com/api/")
    .describe("Base URL of the Slack Web API."),
  /**
   * How long one Web API call may take, response included, in milliseconds.
   * @default 10000
   */
  timeoutMs: z
    .int()
    .positive()
    .max(600_000)
    .default(10_000)
    .describe("Timeout of one Slack Web API call, response included, in milliseconds."),
  /**
   * Sustained posts per second into one channel (Slack allows about one).
   * @default 1
   */
  perChannelPerSecond: z
    .number()
    .positive()
    .max(1000)
    .default(1)
    .describe("Sustained messages per second into one Slack channel."),
  /**
   * Posts allowed at once into one channel before the sustained rate applies.
   * @default 3
   */
  perChannelBurst: z
    .int()
    .positive()
    .max(1000)
    .default(3)
    .describe("Messages allowed at once into one Slack channel."),
  /**
   * Sustained Web API writes per second across the workspace.
   * @default 20
   */
  overallPerSecond: z
    .number()
    .positive()
    .max(10_000)
    .default(20)
    .describe("Sustained Slack Web API writes per second across the workspace."),
  /**
   * Slack user id → on-prem identity, for messages coming back from Slack.
   * @default {}
   */
  users: z
    .preprocess(jsonObjectFromString, z.record(SlackUserId, z.string().min(1).max(256)))
    .default({})
    .describe("Map of Slack user id to on-prem identity (a JSON object in the environment variable)."),
  /**
   * How far an Events API delivery's timestamp may be from our clock, in seconds.
   * @default 300
   */
  maxClockSkewSeconds: z
    .int()
    .positive()
    .max(3600)
    .default(300)
    .describe("Largest accepted age (or lead) of a Slack delivery's timestamp, in seconds."),
});
export type SlackConfig = z.infer<typeof SlackConfig>;
