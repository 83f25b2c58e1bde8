// Writing messages with Slack's rules and error strings: post, update, delete, react.
import type { MessageMetadata } from "./types.ts";
import { fail, isAuthor, snapshot, succeed } from "./workspace.ts";
import type { Outcome, Principal, StoredChannel, StoredFile, StoredMessage, Workspace } from "./workspace.ts";

/** chat.postMessage: "msg_too_long — Message text is too long" past 40,000 characters. */
export const MAX_TEXT_CHARS = 40_000;

/** Emoji names: lower-case letters, digits, "_", "-", "+", "'", with an optional skin tone. */
const REACTION_NAME = /^[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?$/;

export interface PostInput {
  channel: string | undefined;
  text: string | undefined;
  /** Blocks or attachments were given, which make `text` optional. */
  hasBlocks: boolean;
  threadTs: string | undefined;
  username: string | undefined;
  metadata: MessageMetadata | null;
  clientMsgId: string | null;
  files: StoredFile[];
}

export interface Posted {
  channel: StoredChannel;
  message: StoredMessage;
}

/** https://docs.slack.dev/reference/methods/chat.postMessage */
export function postMessage(ws: Workspace, principal: Principal, input: PostInput): Outcome<Posted> {
  const channel = ws.channel(input.channel);
  if (channel === undefined) return fail("channel_not_found");
  if (channel.archived) return fail("is_archived");
  if (!channel.members.has(principal.userId)) return fail("not_in_channel");
  const text = input.text ?? "";
  if (text === "" && !input.hasBlocks && input.files.length === 0) return fail("no_text");
  if (tooLong(text)) return fail("msg_too_long");

  let threadTs: string | null = null;
  if (input.threadTs !== undefined && input.threadTs !== "") {
    const parent = ws.liveMessage(channel, input.threadTs);
    if (parent === undefined) return fail("thread_not_found");
    // A reply to a reply joins the root's thread: Slack threads are one level deep.
    threadTs = parent.threadTs ?? parent.ts;
  }

  const message: StoredMessage = {
    ts: channel.clock.next(),
    text,
    user: principal.userId,
    botId: principal.botId,
    // Only apps may rename their posts (chat:write.customize).
    username: principal.botId !== null && input.username ? input.username : null,
    threadTs,
    clientMsgId: input.clientMsgId,
    edited: null,
    reactions: [],
    metadata: input.metadata,
    files: input.files,
    deleted: false,
  };
  channel.messages.push(message);
  for (const file of input.files) file.shares.push({ channel: channel.id, ts: message.ts });
  return succeed({ channel, message }, [{ kind: "posted", channel, message }]);
}

export interface UpdateInput {
  channel: string | undefined;
  ts: string | undefined;
  text: string | undefined;
  hasBlocks: boolean;
  /** Undefined keeps the message's metadata. */
  metadata: MessageMetadata | null | undefined;
}

/** https://docs.slack.dev/reference/methods/chat.update */
export function updateMessage(ws: Workspace, principal: Principal, input: UpdateInput): Outcome<Posted> {
  const channel = ws.channel(input.channel);
  if (channel === undefined) return fail("channel_not_found");
  const message = ws.liveMessage(channel, input.ts);
  if (message === undefined) return fail("message_not_found");
  if (!isAuthor(principal, message)) return fail("cant_update_message");
  const text = input.text ?? "";
  if (text === "" && !input.hasBlocks && message.files.length === 0) return fail("no_text");
  if (tooLong(text)) return fail("msg_too_long");

  const before = snapshot(message);
  const eventTs = channel.clock.next();
  message.text = text;
  message.edited = { user: principal.userId, ts: eventTs };
  if (input.metadata !== undefined) message.metadata = input.metadata;
  return succeed({ channel, message }, [{ kind: "edited", channel, before, after: message, eventTs }]);
}

/** https://docs.slack.dev/reference/methods/chat.delete */
export function deleteMessage(
  ws: Workspace,
  principal: Principal,
  input: { channel: string | undefined; ts: string | undefined },
): Outcome<Posted> {
  const channel = ws.channel(input.channel);
  if (channel === undefined) return fail("channel_not_found");
  const message = ws.liveMessage(channel, input.ts);
  if (message === undefined) return fail("message_not_found");
  // "When used with a bot token, this method may delete only messages posted by that bot";
  // a workspace admin's user token may delete anyone's.
  const adminUser = principal.botId === null && principal.isAdmin;
  if (!isAuthor(principal, message) && !adminUser) return fail("cant_delete_message");

  message.deleted = true;
  channel.deletedTs.push(message.ts);
  const eventTs = channel.clock.next();
  return succeed({ channel, message }, [{ kind: "deleted", channel, message, eventTs }]);
}

/** https://docs.slack.dev/reference/methods/reactions.add */
export function addReaction(
  ws: Workspace,
  principal: Principal,
  input: { channel: string | undefined; timestamp: string | undefined; name: string | undefined },
): Outcome<Posted> {
  if (!input.channel || !input.timestamp) return fail("no_item_specified");
  const name = input.name ?? "";
  if (!REACTION_NAME.test(name)) return fail("invalid_name");
  const channel = ws.channel(input.channel);
  if (channel === undefined) return fail("channel_not_found");
  const message = ws.liveMessage(channel, input.timestamp);
  if (message === undefined) return fail("message_not_found");

  let reaction = message.reactions.find((candidate) => candidate.name === name);
  if (reaction === undefined) {
    reaction = { name, users: [] };
    message.reactions.push(reaction);
  }
  if (reaction.users.includes(principal.userId)) return fail("already_reacted");
  reaction.users.push(principal.userId);
  const eventTs = channel.clock.next();
  return succeed({ channel, message }, [
    { kind: "reacted", channel, message, user: principal.userId, name, eventTs },
  ]);
}

/** Counted in code points, so text cut at 40,000 UTF-16 units always fits. */
function tooLong(text: string): boolean {
  if (text.length <= MAX_TEXT_CHARS) return false;
  return Array.from(text).length > MAX_TEXT_CHARS;
}
