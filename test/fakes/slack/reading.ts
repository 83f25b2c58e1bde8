// Reading a channel the way conversations.history and conversations.replies page through it.
import { parseTs } from "./ts.ts";
import { fail, succeed } from "./workspace.ts";
import type { Outcome, Principal, StoredChannel, StoredMessage, Workspace } from "./workspace.ts";

/** conversations.history: "limit ... default 100"; Slack caps it at 999. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 999;

export interface ReadInput {
  channel: string | undefined;
  oldest: string | undefined;
  latest: string | undefined;
  inclusive: boolean;
  limit: number | undefined;
  cursor: string | undefined;
}

export interface Page {
  channel: StoredChannel;
  messages: StoredMessage[];
  hasMore: boolean;
  /** "" on the last page. */
  nextCursor: string;
}

/**
 * https://docs.slack.dev/reference/methods/conversations.history — top-level messages only,
 * newest first; thread replies are read with conversations.replies.
 */
export function readHistory(ws: Workspace, principal: Principal, input: ReadInput): Outcome<Page> {
  const opened = openChannel(ws, principal, input.channel);
  if (!opened.ok) return opened;
  const range = parseRange(input);
  if (!range.ok) return range;
  const live = opened.value.messages.filter((m) => !m.deleted && m.threadTs === null && range.value(m));
  return paginate(opened.value, live.reverse(), input, "newest-first");
}

/**
 * https://docs.slack.dev/reference/methods/conversations.replies — the thread's root, then its
 * replies, oldest first. A reply's ts reads the whole thread.
 */
export function readReplies(
  ws: Workspace,
  principal: Principal,
  input: ReadInput & { ts: string | undefined },
): Outcome<Page> {
  const opened = openChannel(ws, principal, input.channel);
  if (!opened.ok) return opened;
  const channel = opened.value;
  const found = ws.liveMessage(channel, input.ts);
  if (found === undefined) return fail("thread_not_found");
  const root = found.threadTs === null ? found : ws.liveMessage(channel, found.threadTs);
  if (root === undefined) return fail("thread_not_found");
  const range = parseRange(input);
  if (!range.ok) return range;
  const thread = [root, ...ws.replies(channel, root.ts)].filter(range.value);
  return paginate(channel, thread, input, "oldest-first");
}

function openChannel(ws: Workspace, principal: Principal, id: string | undefined): Outcome<StoredChannel> {
  const channel = ws.channel(id);
  if (channel === undefined) return fail("channel_not_found");
  // Bot tokens read only channels the bot is in.
  if (!channel.members.has(principal.userId)) return fail("not_in_channel");
  return succeed(channel);
}

function parseRange(input: ReadInput): Outcome<(message: StoredMessage) => boolean> {
  const oldest = input.oldest === undefined || input.oldest === "" ? 0 : parseTs(input.oldest);
  if (oldest === null) return fail("invalid_ts_oldest");
  const latest =
    input.latest === undefined || input.latest === "" ? Number.MAX_SAFE_INTEGER : parseTs(input.latest);
  if (latest === null) return fail("invalid_ts_latest");
  return succeed((message: StoredMessage) => {
    const ts = parseTs(message.ts) ?? 0;
    return input.inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest;
  });
}

/** Cursors are opaque to clients; like Slack's they encode the next message: base64("next_ts:<ts>"). */
function paginate(
  channel: StoredChannel,
  ordered: StoredMessage[],
  input: ReadInput,
  order: "newest-first" | "oldest-first",
): Outcome<Page> {
  const limit = Math.min(Math.max(input.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
  let start = 0;
  if (input.cursor !== undefined && input.cursor !== "") {
    const from = decodeCursor(input.cursor);
    if (from === null) return fail("invalid_cursor");
    const index = ordered.findIndex((m) => {
      const ts = parseTs(m.ts) ?? 0;
      return order === "newest-first" ? ts <= from : ts >= from;
    });
    start = index === -1 ? ordered.length : index;
  }
  const messages = ordered.slice(start, start + limit);
  const next = ordered[start + limit];
  const nextCursor = next === undefined ? "" : encodeCursor(next.ts);
  return succeed({ channel, messages, hasMore: next !== undefined, nextCursor });
}

function encodeCursor(ts: string): string {
  return Buffer.from(`next_ts:${(parseTs(ts) ?? 0).toString()}`).toString("base64");
}

function decodeCursor(cursor: string): number | null {
  const match = /^next_ts:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  if (match === null) return null;
  const micros = Number(match[1]);
  return Number.isSafeInteger(micros) ? micros : null;
}
