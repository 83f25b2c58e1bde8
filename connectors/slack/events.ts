// Turns a verified Events API delivery into canonical inbound events.
// Envelope: https://docs.slack.dev/apis/events-api/ ; url_verification:
// https://docs.slack.dev/reference/events/url_verification ; events mapped:
// https://docs.slack.dev/reference/events/message (plain, thread_broadcast, file_share),
// https://docs.slack.dev/reference/events/message/message_changed ,
// https://docs.slack.dev/reference/events/message/message_deleted ,
// https://docs.slack.dev/reference/events/reaction_added .
// Files come with the message that shares them (`file_share`, or any message with `files`); the
// file_shared event (https://docs.slack.dev/reference/events/file_shared) repeats only the file's id
// and gives no event of its own.
import type { InboundEvent, InboundResult } from "../types.ts";
import { inboundFilesOf } from "./file-objects.ts";
import { encodeExternalId, isSlackId, isSlackTs } from "./ids.ts";

/** Who we are in the workspace, to leave our own posts out (they would come back as echoes). */
export interface SlackSelf {
  /** The bot's user id (auth.test `user_id`), once known. */
  userId: string | null;
  /** The bot's bot id (auth.test `bot_id`), once known. */
  botId: string | null;
}

type Json = Record<string, unknown>;

const MAX_EVENT_ID_CHARS = 128;
const MAX_REACTION_CHARS = 128;

function record(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** What identifies our own app in one delivery: auth.test's ids plus the envelope's bot authorizations. */
interface Ours {
  userIds: ReadonlySet<string>;
  botIds: ReadonlySet<string>;
  appId: string | null;
}

function oursIn(envelope: Json, self: SlackSelf): Ours {
  const userIds = new Set<string>();
  if (self.userId !== null) userIds.add(self.userId);
  // An installation's authorization with is_bot names our bot user even before auth.test ran.
  const authorizations = Array.isArray(envelope.authorizations) ? envelope.authorizations : [];
  for (const entry of authorizations) {
    const authorization = record(entry);
    if (authorization?.is_bot === true && isSlackId(authorization.user_id))
      userIds.add(authorization.user_id);
  }
  return {
    userIds,
    botIds: new Set(self.botId === null ? [] : [self.botId]),
    appId: isSlackId(envelope.api_app_id) ? envelope.api_app_id : null,
  };
}

/** True for a message object that we (or, by subtype, any bot) posted. */
function isEcho(message: Json | null, ours: Ours): boolean {
  if (message === null) return false;
  const { bot_id: botId, user, app_id: appId, subtype } = message;
  return (
    subtype === "bot_message" ||
    (typeof botId === "string" && ours.botIds.has(botId)) ||
    (typeof user === "string" && ours.userIds.has(user)) ||
    (ours.appId !== null && appId === ours.appId)
  );
}

/**
 * The result for a parsed, already verified delivery body: the challenge reply, or the events it
 * holds. Unknown types, malformed events and our own echoes give an empty list. Never throws.
 */
export function resultFromDelivery(body: unknown, self: SlackSelf): InboundResult {
  const envelope = record(body);
  if (envelope === null) return { kind: "rejected", reason: "body is not a JSON object" };
  if (envelope.type === "url_verification") {
    if (typeof envelope.challenge !== "string") {
      return { kind: "rejected", reason: "url_verification without a challenge" };
    }
    return { kind: "reply", body: { challenge: envelope.challenge } };
  }
  if (envelope.type !== "event_callback") return { kind: "events", events: [] };
  const eventId = envelope.event_id;
  if (typeof eventId !== "string" || eventId.length === 0 || eventId.length > MAX_EVENT_ID_CHARS) {
    return { kind: "events", events: [] };
  }
  const event = record(envelope.event);
  const mapped = event === null ? null : eventFrom(event, eventId, oursIn(envelope, self));
  return { kind: "events", events: mapped === null ? [] : [mapped] };
}

function eventFrom(event: Json, eventId: string, ours: Ours): InboundEvent | null {
  switch (event.type) {
    case "message":
      return messageEventFrom(event, eventId, ours);
    case "reaction_added":
      return reactionFrom(event, eventId, ours);
    // The message event of the same share carries the file, with its text and thread.
    case "file_shared":
      return null;
    default:
      return null;
  }
}

function messageEventFrom(event: Json, eventId: string, ours: Ours): InboundEvent | null {
  const { channel, subtype } = event;
  if (!isSlackId(channel)) return null;
  switch (subtype) {
    case undefined:
    case "thread_broadcast":
    case "file_share":
      return postedFrom(event, channel, eventId, ours);
    case "message_changed":
      return editFrom(event, channel, eventId, ours);
    case "message_deleted":
      return deleteFrom(event, channel, eventId, ours);
    default:
      return null;
  }
}

function postedFrom(event: Json, channel: string, eventId: string, ours: Ours): InboundEvent | null {
  const { user, ts, thread_ts: threadTs } = event;
  if (isEcho(event, ours) || !isSlackId(user) || !isSlackTs(ts)) return null;
  const files = inboundFilesOf(event.files);
  const body = text(event.text);
  // Only files we cannot fetch (deleted, over the plan's limit, external) and no text: nothing to keep.
  if (body === "" && files.length === 0 && Array.isArray(event.files) && event.files.length > 0) return null;
  return {
    eventId,
    channel,
    user,
    kind: "message",
    text: body,
    externalId: encodeExternalId(channel, ts),
    threadOf: isSlackTs(threadTs) && threadTs !== ts ? encodeExternalId(channel, threadTs) : null,
    target: null,
    files,
  };
}

function editFrom(event: Json, channel: string, eventId: string, ours: Ours): InboundEvent | null {
  const message = record(event.message);
  const previous = record(event.previous_message);
  if (message === null || isEcho(message, ours) || isEcho(previous, ours)) return null;
  const { user, ts } = message;
  if (!isSlackId(user) || !isSlackTs(ts)) return null;
  // Unfurls and language detection also send message_changed, with the text as it was.
  if (previous !== null && typeof previous.text === "string" && previous.text === message.text) return null;
  return {
    eventId,
    channel,
    user,
    kind: "edit",
    text: text(message.text),
    externalId: null,
    threadOf: null,
    target: encodeExternalId(channel, ts),
    files: [],
  };
}

function deleteFrom(event: Json, channel: string, eventId: string, ours: Ours): InboundEvent | null {
  const previous = record(event.previous_message);
  const deletedTs = event.deleted_ts;
  if (previous === null || isEcho(previous, ours) || !isSlackTs(deletedTs)) return null;
  // The deleter is not in the event; the author of what was deleted is.
  const user = previous.user;
  if (!isSlackId(user)) return null;
  return {
    eventId,
    channel,
    user,
    kind: "delete",
    text: "",
    externalId: null,
    threadOf: null,
    target: encodeExternalId(channel, deletedTs),
    files: [],
  };
}

function reactionFrom(event: Json, eventId: string, ours: Ours): InboundEvent | null {
  const item = record(event.item);
  const { user, reaction } = event;
  if (item?.type !== "message" || !isSlackId(item.channel) || !isSlackTs(item.ts)) return null;
  if (!isSlackId(user) || ours.userIds.has(user)) return null;
  if (typeof reaction !== "string" || reaction.length === 0 || reaction.length > MAX_REACTION_CHARS)
    return null;
  return {
    eventId,
    channel: item.channel,
    user,
    kind: "reaction",
    text: reaction,
    externalId: null,
    threadOf: null,
    target: encodeExternalId(item.channel, item.ts),
    files: [],
  };
}
