// Public shapes of the fake Slack: its options, its controls and what it lets a test inspect.

/** Ways the fake can fail its Web API callers on purpose. */
export const OutageMode = {
  /** Every Web API call answers HTTP 500. */
  error500: "error500",
  /** Every Web API call is held unanswered until the client gives up or the fake closes. */
  timeout: "timeout",
  /** Every Web API call takes effect, then is held unanswered: the client cannot know the outcome. */
  commitThenTimeout: "commit-then-timeout",
} as const;
export type OutageMode = (typeof OutageMode)[keyof typeof OutageMode];

/** Why an event delivery failed, as Slack names it in `X-Slack-Retry-Reason`. */
export const DeliveryFailure = {
  httpTimeout: "http_timeout",
  connectionFailed: "connection_failed",
  httpError: "http_error",
} as const;
export type DeliveryFailure = (typeof DeliveryFailure)[keyof typeof DeliveryFailure];

export interface FakeSlackOptions {
  /** Writes a channel's bucket regains per second (chat.postMessage: "1 per second per channel"). @default 1 */
  perChannelPerSecond?: number;
  /** Writes a channel's bucket holds, i.e. the burst Slack tolerates. @default 3 */
  perChannelBurst?: number;
  /**
   * Deliver events for what the app itself does through the Web API (its posts, edits, deletes,
   * reactions and file shares), as Slack does: consumers must recognise and drop their own echo.
   * @default true
   */
  echoBotMessages?: boolean;
  /** Retry a delivery not answered 2xx, up to three times, with `X-Slack-Retry-Num`. @default false */
  autoRetry?: boolean;
  /** Wait before retries 1, 2 and 3, in ms; Slack waits 0, 1 min and 5 min. @default [0, 1000, 5000] */
  retryDelaysMs?: readonly number[];
  /** How long a delivery waits for an answer before it counts as `http_timeout`, in ms. @default 3000 */
  deliveryTimeoutMs?: number;
  /** Where events are delivered; also settable with `setEventsUrl`. @default null (not delivered) */
  eventsUrl?: string | null;
  /** The workspace's name, as auth.test reports it. @default "Watershed Test" */
  teamName?: string;
}

/** One request the fake received, in arrival order. */
export interface ApiCall {
  /** The Web API method, or "upload" for bytes POSTed to an upload_url. */
  method: string;
  /** The channel id the call named (its name when no such channel exists), or null. */
  channel: string | null;
  ok: boolean;
  /** Slack's error string, null on success or when the fake answered no JSON (outages). */
  error: string | null;
  /** The HTTP status answered; null when the call was held unanswered (timeout outages). */
  status: number | null;
  /** When the call arrived, ms since the epoch. */
  at: number;
}

export interface FakeSlackFile {
  id: string;
  name: string;
  title: string;
  /** Bytes. */
  size: number;
}

export interface FakeSlackReaction {
  name: string;
  /** User ids, in the order they reacted. */
  users: string[];
}

/** A message as the fake holds it, for assertions. */
export interface FakeSlackMessage {
  ts: string;
  text: string;
  /** The author's user id (the bot user for the app's own messages). */
  user: string;
  /** Set on messages the app posted with its bot token. */
  bot_id: string | null;
  /** The root's ts for thread replies; null for top-level messages, even ones with replies. */
  thread_ts: string | null;
  edited: boolean;
  reactions: FakeSlackReaction[];
  metadata: MessageMetadata | null;
  files: FakeSlackFile[];
  /** The display name a bot post asked for with `username`. */
  username: string | null;
}

/** https://docs.slack.dev/messaging/message-metadata */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** An event as Slack puts it inside the envelope's `event` field. */
export type SlackEvent = { type: string } & Record<string, unknown>;

/** https://docs.slack.dev/reference/objects/event-object */
export interface EventEnvelope {
  token: string;
  team_id: string;
  context_team_id: string;
  context_enterprise_id: null;
  api_app_id: string;
  event: SlackEvent;
  type: "event_callback";
  event_id: string;
  event_time: number;
  authorizations: {
    enterprise_id: null;
    team_id: string;
    user_id: string;
    is_bot: boolean;
    is_enterprise_install: boolean;
  }[];
  is_ext_shared_channel: boolean;
  event_context: string;
}

export interface DeliverOptions {
  /** Sent as `X-Slack-Retry-Num` (1..3); no retry headers when absent. */
  retryNum?: number;
  /** Sent as `X-Slack-Retry-Reason` with a retry. @default "http_error" */
  retryReason?: string;
  /** `X-Slack-Request-Timestamp` in unix seconds, e.g. a stale one. @default now */
  timestamp?: number;
  /** Replaces the computed `X-Slack-Signature` header, e.g. a forged one. */
  signature?: string;
  /** Rewrites the body after it was signed, as an attacker in the middle would. */
  tamper?: (body: string) => string;
}

export interface DeliveryResult {
  /** The receiver's HTTP status; null when it did not answer in time or could not be reached. */
  status: number | null;
  body: string;
  /** Null on 2xx. */
  failure: DeliveryFailure | null;
}

/** One HTTP request the fake sent to the events URL. */
export interface DeliveryAttempt {
  /** Null for url_verification. */
  eventId: string | null;
  /** 0 for a first attempt. */
  retryNum: number;
  retryReason: string | null;
  status: number | null;
  failure: DeliveryFailure | null;
  /** When it was sent, ms since the epoch. */
  at: number;
}

/** The outcome of a simulated user action that emits one event. */
export interface ActionResult {
  eventId: string;
  /** The first delivery's HTTP status; null when not delivered (no events URL, no answer). */
  status: number | null;
}

export interface PostResult extends ActionResult {
  ts: string;
}

export interface ShareResult extends PostResult {
  fileId: string;
  /** The `file_shared` event that follows the `file_share` message. */
  fileShared: ActionResult;
}

export interface FakeSlack {
  /** Base URL, "http://127.0.0.1:<port>". */
  readonly url: string;
  /** What to give WebClient as `slackApiUrl`: "http://127.0.0.1:<port>/api/". */
  readonly apiUrl: string;
  readonly teamId: string;
  readonly teamName: string;
  readonly appId: string;
  /** The app's bot id ("B0..."). */
  readonly botId: string;
  /** The bot user's id ("U0BOT..."). */
  readonly botUserId: string;
  /** The first valid bot token. */
  readonly botToken: string;
  /** A workspace admin's user id. */
  readonly adminUserId: string;
  /** The admin's user token ("xoxp-..."). */
  readonly adminToken: string;
  /** The app's signing secret: deliveries are signed with it. */
  readonly signingSecret: string;

  setEventsUrl(url: string | null): void;
  /** A new public channel; the bot is a member unless `botIsMember` is false; every human user is. */
  createChannel(name: string, options?: { botIsMember?: boolean }): string;
  archiveChannel(channel: string): void;
  /** A new human user, member of every channel. */
  createUser(name: string, options?: { admin?: boolean }): string;

  /** Makes a token answer `token_revoked` from now on. */
  revoke(token: string): void;
  /** A new valid bot token for the same bot: "the token is fixed". */
  issueBotToken(): string;
  setOutage(mode: OutageMode | null): void;
  /** The next `count` writes to `channel` (any channel when null) answer 429 with this Retry-After. */
  rateLimitNext(channel: string | null, count: number, retryAfterSeconds: number): void;

  calls(): ApiCall[];
  /** Live messages of a channel, oldest first, replies included. */
  messages(channel: string): FakeSlackMessage[];
  /** The ts of a channel's deleted messages, in deletion order. */
  deleted(channel: string): string[];
  fileBytes(fileId: string): Buffer;
  /** Ids of files deleted with files.delete, in deletion order. */
  deletedFiles(): string[];

  postAsUser(
    user: string,
    channel: string,
    text: string,
    options?: { threadTs?: string },
  ): Promise<PostResult>;
  editAsUser(user: string, channel: string, ts: string, text: string): Promise<ActionResult>;
  deleteAsUser(user: string, channel: string, ts: string): Promise<ActionResult>;
  reactAsUser(user: string, channel: string, ts: string, name: string): Promise<ActionResult>;
  shareFileAsUser(
    user: string,
    channel: string,
    file: { name: string; bytes: Buffer | string; title?: string },
    options?: { threadTs?: string },
  ): Promise<ShareResult>;

  /** Sends an envelope (or a stored one, by event id) again, as told; never retried automatically. */
  deliver(envelopeOrEventId: EventEnvelope | string, options?: DeliverOptions): Promise<DeliveryResult>;
  /** Sends the `url_verification` challenge Slack sends when a Request URL is configured. */
  urlVerification(): Promise<DeliveryResult & { challenge: string }>;
  /** Every envelope the fake produced, in order, delivered or not. */
  envelopes(): EventEnvelope[];
  deliveries(): DeliveryAttempt[];
  /** Resolves once every automatic delivery, retries included, has settled. */
  idle(): Promise<void>;
  /** Stops everything, including held sockets and pending retries. */
  close(): Promise<void>;
}
