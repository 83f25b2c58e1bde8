// The Slack connector: relays messages with the Web API and takes Events API deliveries back in.
// Methods: https://docs.slack.dev/reference/methods/chat.postMessage , .../chat.update ,
// .../chat.delete , .../reactions.add , .../conversations.history , .../conversations.replies ,
// .../auth.test , .../files.delete (all under https://docs.slack.dev/reference/methods/); file uploads:
// ./uploads.ts; downloads of files shared in Slack: ./downloads.ts.
import { ConnectorPermanentError, ConnectorTransientError } from "../errors.ts";
import { Capability } from "../types.ts";
import type {
  Connector,
  ConnectorDeps,
  ConnectorHealth,
  DeleteRequest,
  EditRequest,
  InboundEndpoint,
  InboundFile,
  NoticeRequest,
  RateLimits,
  ReactRequest,
  SendRequest,
  SendResult,
  UploadRequest,
} from "../types.ts";
import { SlackBodyEncoding, callSlack } from "./api.ts";
import type { SlackAnswer, SlackApiOptions } from "./api.ts";
import type { SlackConfig } from "./config.ts";
import { downloadSlackFile } from "./downloads.ts";
import { SlackPermanentError } from "./errors.ts";
import type { SlackSelf } from "./events.ts";
import { decodeExternalId, encodeExternalId, isSlackId, isSlackTs, slackTsFromMs } from "./ids.ts";
import type { SlackMessageRef } from "./ids.ts";
import { SlackInbound } from "./inbound.ts";
import { SlackUploader } from "./uploads.ts";

export const SLACK_KIND = "slack";
/** Metadata event types we tag our posts with, so an unknown outcome can be settled by reading history. */
export const MESSAGE_EVENT_TYPE = "watershed_message";
export const NOTICE_EVENT_TYPE = "watershed_notice";

/** Slack's clock and ours may differ; a post is never older than its acceptance minus this. */
const LOOKBACK_MARGIN_MS = 5 * 60 * 1000;
/** A notice carries no acceptance time: how far back an earlier attempt of one may have landed. */
const NOTICE_LOOKBACK_MS = 24 * 60 * 60 * 1000;
/** Messages per history page (Slack's documented maximum is 999, 200 is its recommendation). */
const HISTORY_PAGE_SIZE = 200;
/** Pages read before giving up on settling an unknown outcome. */
const HISTORY_MAX_PAGES = 50;

/** Slack file ids: F, then upper-case letters and digits (https://docs.slack.dev/reference/objects/file-object). */
const SLACK_FILE_ID = /^F[A-Z0-9]{2,40}$/;

const capabilities: ReadonlySet<Capability> = new Set([
  Capability.threads,
  Capability.edits,
  Capability.deletes,
  Capability.reactions,
  Capability.notices,
  Capability.files,
]);

type TokenRole = "bot" | "admin";

/** Our metadata on a post: its type and the one payload field that identifies it. */
interface Tag {
  eventType: string;
  field: string;
  value: string;
}

function messageTag(messageId: string): Tag {
  return { eventType: MESSAGE_EVENT_TYPE, field: "message_id", value: messageId };
}

export class SlackConnector implements Connector {
  readonly kind = SLACK_KIND;
  readonly capabilities = capabilities;
  readonly rateLimits: RateLimits;
  readonly inbound: InboundEndpoint;
  readonly #config: SlackConfig;
  readonly #deps: ConnectorDeps;
  readonly #api: SlackApiOptions;
  /** Tokens Slack refused, with the error it gave: the connector is unhealthy while any is here. */
  readonly #rejected = new Map<TokenRole, string>();
  /** Why the last health check could not tell, until a call succeeds. */
  #unsettled: string | null = null;
  readonly #self: SlackSelf = { userId: null, botId: null };
  readonly #uploader: SlackUploader;

  constructor(config: SlackConfig, deps: ConnectorDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#api = {
      baseUrl: config.apiBaseUrl.endsWith("/") ? config.apiBaseUrl : `${config.apiBaseUrl}/`,
      timeoutMs: config.timeoutMs,
      fetch: deps.fetch,
    };
    this.rateLimits = {
      perChannel: { perSecond: config.perChannelPerSecond, burst: config.perChannelBurst },
      // One second's worth at once: Slack tolerates short bursts but documents no size.
      overall: { perSecond: config.overallPerSecond, burst: Math.max(1, Math.ceil(config.overallPerSecond)) },
    };
    this.inbound = new SlackInbound({
      signingSecret: config.signingSecret,
      maxClockSkewSeconds: config.maxClockSkewSeconds,
      users: config.users,
      now: deps.now,
      self: () => ({ ...this.#self }),
    });
    this.#uploader = new SlackUploader({
      call: (method, args, signal, encoding) => this.#call("bot", method, args, signal, encoding),
      findMessage: (channel, threadTs, sinceMs, pick, signal) =>
        this.#findMessage(channel, threadTs, sinceMs, pick, signal),
      self: (signal) => this.#knownSelf(signal),
      api: this.#api,
      botToken: config.botToken,
      now: deps.now,
    });
  }

  async send(request: SendRequest, signal?: AbortSignal): Promise<SendResult> {
    const { channel, message } = request;
    const threadTs = threadTsFor(request.threadOf, channel);
    if (request.maybeSent) {
      const found = await this.find(request, signal);
      if (found !== null) return found;
    }
    const tag = messageTag(message.id);
    const post = (thread: string | null) =>
      this.#call(
        "bot",
        "chat.postMessage",
        {
          channel,
          text: message.text,
          ...(thread === null ? {} : { thread_ts: thread }),
          username: message.sender.id,
          metadata: metadataOf(tag),
        },
        signal,
      );
    let answer: SlackAnswer;
    try {
      answer = await post(threadTs);
    } catch (err) {
      // The parent was deleted in Slack meanwhile: the reply still belongs in the channel.
      if (threadTs === null || !hasSlackError(err, "thread_not_found")) throw err;
      answer = await post(null);
    }
    return { externalId: this.#postedId(answer, channel) };
  }

  /** Looks for the post an earlier, unanswered send of this message may have made. */
  async find(request: SendRequest, signal?: AbortSignal): Promise<SendResult | null> {
    const { channel, message } = request;
    const threadTs = threadTsFor(request.threadOf, channel);
    const acceptedMs = Date.parse(message.acceptedAt);
    const sinceMs = Number.isFinite(acceptedMs) ? acceptedMs : this.#deps.now() - NOTICE_LOOKBACK_MS;
    const tag = messageTag(message.id);
    const ts = await this.#findTagged(channel, threadTs, tag, sinceMs - LOOKBACK_MARGIN_MS, signal);
    return ts === null ? null : { externalId: encodeExternalId(channel, ts) };
  }

  /** Bindings name channels by id (C…, G…, D…): a name would never match an event or a lookup. */
  channelProblem(channel: string): string | null {
    return /^[CGD][A-Z0-9]{2,}$/.test(channel)
      ? null
      : `'${channel}' is not a Slack channel id (like C0123ABCD); bind by id, not by name`;
  }

  async edit(request: EditRequest, signal?: AbortSignal): Promise<void> {
    const target = targetOf(request.target);
    await this.#call(
      "bot",
      "chat.update",
      { channel: target.channel, ts: target.ts, text: request.message.text },
      signal,
    );
  }

  async delete(request: DeleteRequest, signal?: AbortSignal): Promise<void> {
    const target = targetOf(request.target);
    const args = { channel: target.channel, ts: target.ts };
    // The author is not in the id: the bot tries first, which is one call for our own posts.
    try {
      await this.#call("bot", "chat.delete", args, signal);
      return;
    } catch (err) {
      if (hasSlackError(err, "message_not_found")) return;
      if (request.reason !== "retract" || !hasSlackError(err, "cant_delete_message")) throw err;
    }
    if (this.#config.adminToken === undefined) {
      throw new ConnectorPermanentError(
        "retracting a message written by a Slack user needs the Slack connector's adminToken: a bot may delete only its own posts",
        null,
      );
    }
    try {
      await this.#call("admin", "chat.delete", args, signal);
    } catch (err) {
      if (!hasSlackError(err, "message_not_found")) throw err;
    }
  }

  async react(request: ReactRequest, signal?: AbortSignal): Promise<void> {
    const target = targetOf(request.target);
    const name = reactionName(request.message.text);
    if (name === null) throw new ConnectorPermanentError("a reaction needs a name", null);
    try {
      await this.#call(
        "bot",
        "reactions.add",
        { channel: target.channel, timestamp: target.ts, name },
        signal,
      );
    } catch (err) {
      if (!hasSlackError(err, "already_reacted")) throw err;
    }
  }

  async notice(request: NoticeRequest, signal?: AbortSignal): Promise<SendResult> {
    const { channel } = request;
    const tag: Tag = { eventType: NOTICE_EVENT_TYPE, field: "key", value: request.key };
    if (request.maybeSent) {
      const ts = await this.#findTagged(channel, null, tag, this.#deps.now() - NOTICE_LOOKBACK_MS, signal);
      if (ts !== null) return { externalId: encodeExternalId(channel, ts) };
    }
    const answer = await this.#call(
      "bot",
      "chat.postMessage",
      { channel, text: request.text, metadata: metadataOf(tag) },
      signal,
    );
    return { externalId: this.#postedId(answer, channel) };
  }

  async uploadFile(request: UploadRequest, signal?: AbortSignal): Promise<SendResult> {
    return this.#uploader.upload(request, threadTsFor(request.threadOf, request.channel), signal);
  }

  /** Streams a file an inbound event named, with the bot token (scope files:read). */
  async *downloadFile(file: InboundFile, signal?: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* downloadSlackFile({ api: this.#api, token: this.#config.botToken }, file, signal);
    } catch (err) {
      this.#noteRefusal("bot", err);
      throw err;
    }
    this.#noteAcceptance("bot");
  }

  /**
   * Deletes a Slack file (files.delete, scope files:write). A bot may delete only its own files; a
   * file a Slack user shared needs `adminToken`. A file already gone counts as deleted.
   */
  async deleteFile(fileId: string, signal?: AbortSignal): Promise<void> {
    if (!SLACK_FILE_ID.test(fileId)) throw new ConnectorPermanentError("not a Slack file id", null);
    // Form-encoded as Slack's SDKs send it; the method takes both (https://docs.slack.dev/reference/methods/files.delete).
    const remove = (role: TokenRole): Promise<SlackAnswer> =>
      this.#call(role, "files.delete", { file: fileId }, signal, SlackBodyEncoding.form);
    const hasAdmin = this.#config.adminToken !== undefined;
    try {
      await remove("bot");
      return;
    } catch (err) {
      if (hasSlackError(err, "file_deleted")) return;
      // "does not exist, or is not visible to the calling user": with an admin token, ask the admin.
      if (hasSlackError(err, "file_not_found") && !hasAdmin) return;
      if (!hasSlackError(err, "cant_delete_file") && !hasSlackError(err, "file_not_found")) throw err;
    }
    if (!hasAdmin) {
      throw new ConnectorPermanentError(
        "deleting a file a Slack user shared needs the Slack connector's adminToken: a bot may delete only its own files",
        null,
      );
    }
    try {
      await remove("admin");
    } catch (err) {
      if (!hasSlackError(err, "file_not_found") && !hasSlackError(err, "file_deleted")) throw err;
    }
  }

  health(): ConnectorHealth {
    if (this.#rejected.size > 0) {
      const refusals = [...this.#rejected].map(([role, error]) => `the ${role} token (${error})`);
      return {
        healthy: false,
        detail: `Slack refused ${refusals.join(" and ")}; replace it, a successful health check clears this`,
      };
    }
    if (this.#unsettled !== null) return { healthy: false, detail: this.#unsettled };
    const who = this.#self.userId === null ? "" : ` as bot user ${this.#self.userId}`;
    return { healthy: true, detail: `Slack${who}: no credential refusal seen` };
  }

  async checkHealth(signal?: AbortSignal): Promise<ConnectorHealth> {
    try {
      const answer = await this.#call("bot", "auth.test", {}, signal);
      this.#learnSelf(answer.user_id, answer.bot_id);
      if (this.#config.adminToken !== undefined) await this.#call("admin", "auth.test", {}, signal);
    } catch (err) {
      // A refused token is recorded by #call; anything else leaves the credentials' state unknown.
      if (!(err instanceof SlackPermanentError && err.rejectsCredentials)) {
        this.#unsettled = `Slack health check could not complete: ${err instanceof Error ? err.message : "unknown error"}`;
      }
    }
    return this.health();
  }

  async close(): Promise<void> {}

  /** One Web API call with the token of `role`; keeps the health state in step with what Slack said. */
  async #call(
    role: TokenRole,
    method: string,
    args: Readonly<Record<string, unknown>>,
    signal: AbortSignal | undefined,
    encoding?: SlackBodyEncoding,
  ): Promise<SlackAnswer> {
    const token = role === "bot" ? this.#config.botToken : this.#config.adminToken;
    if (token === undefined) throw new ConnectorPermanentError(`no ${role} token configured`, null);
    try {
      const answer = await callSlack(this.#api, token, method, args, signal, encoding);
      this.#noteAcceptance(role);
      return answer;
    } catch (err) {
      this.#noteRefusal(role, err);
      throw err;
    }
  }

  /** Slack took the token of `role`: whatever it refused before works again. */
  #noteAcceptance(role: TokenRole): void {
    this.#rejected.delete(role);
    this.#unsettled = null;
  }

  /** Keeps a refusal of the token of `role` for health(); other failures say nothing of the token. */
  #noteRefusal(role: TokenRole, err: unknown): void {
    if (err instanceof SlackPermanentError && err.rejectsCredentials) {
      this.#rejected.set(role, err.slackError ?? `HTTP ${err.status ?? "?"}`);
    }
  }

  /**
   * The ts of a message in `channel` (or in the thread `threadTs`) carrying our metadata `tag`, posted
   * since `sinceMs`; null when there is none.
   */
  #findTagged(
    channel: string,
    threadTs: string | null,
    tag: Tag,
    sinceMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string | null> {
    return this.#findMessage(channel, threadTs, sinceMs, (message) => isTagged(message, tag), signal);
  }

  /**
   * The ts of the first message in `channel` (or in the thread `threadTs`) posted since `sinceMs` that
   * `pick` accepts; null when there is none.
   */
  async #findMessage(
    channel: string,
    threadTs: string | null,
    sinceMs: number,
    pick: (message: Readonly<Record<string, unknown>>) => boolean,
    signal: AbortSignal | undefined,
  ): Promise<string | null> {
    // Thread replies are not in conversations.history; conversations.replies lists them.
    const method = threadTs === null ? "conversations.history" : "conversations.replies";
    let cursor: string | null = null;
    for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
      const answer = await this.#call(
        "bot",
        method,
        {
          channel,
          ...(threadTs === null ? {} : { ts: threadTs }),
          oldest: slackTsFromMs(sinceMs),
          inclusive: true,
          include_all_metadata: true,
          limit: HISTORY_PAGE_SIZE,
          ...(cursor === null ? {} : { cursor }),
        },
        signal,
      );
      const messages = Array.isArray(answer.messages) ? (answer.messages as unknown[]) : [];
      for (const message of messages) {
        if (typeof message !== "object" || message === null) continue;
        const { ts } = message as Record<string, unknown>;
        if (isSlackTs(ts) && pick(message as Record<string, unknown>)) return ts;
      }
      cursor = nextCursor(answer);
      if (cursor === null) return null;
    }
    throw new ConnectorPermanentError(
      `cannot tell whether an earlier attempt landed: more than ${HISTORY_MAX_PAGES * HISTORY_PAGE_SIZE} messages in ${method} of ${channel} since`,
      null,
    );
  }

  /** The external id of what chat.postMessage just posted; it also tells us who our bot is. */
  #postedId(answer: SlackAnswer, channel: string): string {
    const posted = answer.message;
    if (typeof posted === "object" && posted !== null) {
      const { user, bot_id: botId } = posted as Record<string, unknown>;
      this.#learnSelf(user, botId);
    }
    if (!isSlackTs(answer.ts)) {
      // Posted, but we cannot name it: a retry with maybeSent finds it by its metadata.
      throw new ConnectorTransientError("Slack chat.postMessage answered ok without a ts", null);
    }
    // Slack answers with the channel id even when given a name.
    return encodeExternalId(isSlackId(answer.channel) ? answer.channel : channel, answer.ts);
  }

  /** Our bot's ids, from auth.test when no answer has told us yet. */
  async #knownSelf(signal: AbortSignal | undefined): Promise<SlackSelf> {
    if (this.#self.userId === null && this.#self.botId === null) {
      const answer = await this.#call("bot", "auth.test", {}, signal);
      this.#learnSelf(answer.user_id, answer.bot_id);
    }
    return { ...this.#self };
  }

  #learnSelf(userId: unknown, botId: unknown): void {
    if (isSlackId(userId)) this.#self.userId = userId;
    if (isSlackId(botId)) this.#self.botId = botId;
  }
}

function metadataOf(tag: Tag): { event_type: string; event_payload: Record<string, string> } {
  return { event_type: tag.eventType, event_payload: { [tag.field]: tag.value } };
}

function isTagged(message: Readonly<Record<string, unknown>>, tag: Tag): boolean {
  const { metadata } = message;
  if (typeof metadata !== "object" || metadata === null) return false;
  const { event_type: eventType, event_payload: payload } = metadata as Record<string, unknown>;
  if (eventType !== tag.eventType || typeof payload !== "object" || payload === null) return false;
  return (payload as Record<string, unknown>)[tag.field] === tag.value;
}

function nextCursor(answer: SlackAnswer): string | null {
  const meta = answer.response_metadata;
  if (typeof meta !== "object" || meta === null) return null;
  const cursor = (meta as Record<string, unknown>).next_cursor;
  return typeof cursor === "string" && cursor !== "" ? cursor : null;
}

function targetOf(externalId: string): SlackMessageRef {
  const ref = decodeExternalId(externalId);
  if (ref === null) throw new ConnectorPermanentError("the target is not a Slack message id", null);
  return ref;
}

/** The parent's ts for a reply posted into `channel`; null for a top-level post. */
function threadTsFor(threadOf: string | null, channel: string): string | null {
  if (threadOf === null) return null;
  const parent = targetOf(threadOf);
  // A parent in another channel (the binding moved) cannot hold this reply: post it top-level.
  return parent.channel === channel ? parent.ts : null;
}

/** "thumbsup", ":thumbsup:" → "thumbsup"; skin tones ("+1::skin-tone-2") keep their inner colons. */
export function reactionName(text: string): string | null {
  const name = text.trim().replace(/^:/, "").replace(/:$/, "");
  return name === "" ? null : name;
}

function hasSlackError(err: unknown, code: string): boolean {
  return err instanceof SlackPermanentError && err.slackError === code;
}
