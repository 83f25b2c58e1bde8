// The Web API methods the fake answers: arguments in, Slack's JSON answer and the changes out.
import {
  INVALID,
  booleanArg,
  hasBlocks,
  integerArg,
  isRecord,
  jsonArg,
  metadataArg,
  stringArg,
} from "./args.ts";
import type { Args } from "./args.ts";
import { completeUpload, reserveUpload } from "./files.ts";
import { addReaction, deleteMessage, postMessage, updateMessage } from "./messaging.ts";
import { readHistory, readReplies } from "./reading.ts";
import type { Page, ReadInput } from "./reading.ts";
import { apiFile, apiMessage } from "./views.ts";
import type { Change, Outcome, Principal, Workspace } from "./workspace.ts";

export interface MethodContext {
  ws: Workspace;
  principal: Principal;
  args: Args;
  /** "http://127.0.0.1:<port>", for URLs the answer hands out. */
  baseUrl: string;
}

export type SlackBody = { ok: boolean; error?: string } & Record<string, unknown>;

export interface MethodResult {
  body: SlackBody;
  changes: Change[];
}

export interface MethodSpec {
  /** Counts against the channel's token bucket and scheduled 429s. */
  write: boolean;
  /** The channel argument, for rate limits and the call log. */
  channelOf: (args: Args) => string | undefined;
  run: (ctx: MethodContext) => MethodResult;
}

const channelArg = (args: Args): string | undefined => stringArg(args, "channel");

export const METHODS: Readonly<Record<string, MethodSpec>> = {
  /** https://docs.slack.dev/reference/methods/auth.test */
  "auth.test": {
    write: false,
    channelOf: () => undefined,
    run: ({ ws, principal }) =>
      ok({
        url: `https://${ws.teamDomain}.slack.com/`,
        team: ws.teamName,
        user: ws.users.get(principal.userId)?.name ?? "",
        team_id: ws.teamId,
        user_id: principal.userId,
        ...(principal.botId === null ? {} : { bot_id: principal.botId }),
        is_enterprise_install: false,
      }),
  },

  /** https://docs.slack.dev/reference/methods/chat.postMessage */
  "chat.postMessage": {
    write: true,
    channelOf: channelArg,
    run: ({ ws, principal, args, baseUrl }) => {
      const metadata = metadataArg(args);
      if (metadata === INVALID) return error("invalid_metadata_format");
      const outcome = postMessage(ws, principal, {
        channel: stringArg(args, "channel"),
        text: stringArg(args, "text"),
        hasBlocks: hasBlocks(args),
        threadTs: stringArg(args, "thread_ts"),
        username: stringArg(args, "username"),
        metadata: metadata ?? null,
        clientMsgId: null,
        files: [],
      });
      return answer(outcome, ({ channel, message }) => ({
        channel: channel.id,
        ts: message.ts,
        message: apiMessage(ws, channel, message, { metadata: true, baseUrl }),
      }));
    },
  },

  /** https://docs.slack.dev/reference/methods/chat.update */
  "chat.update": {
    write: true,
    channelOf: channelArg,
    run: ({ ws, principal, args, baseUrl }) => {
      const metadata = metadataArg(args);
      if (metadata === INVALID) return error("invalid_metadata_format");
      const outcome = updateMessage(ws, principal, {
        channel: stringArg(args, "channel"),
        ts: stringArg(args, "ts"),
        text: stringArg(args, "text"),
        hasBlocks: hasBlocks(args),
        metadata,
      });
      return answer(outcome, ({ channel, message }) => ({
        channel: channel.id,
        ts: message.ts,
        text: message.text,
        message: apiMessage(ws, channel, message, { metadata: true, baseUrl }),
      }));
    },
  },

  /** https://docs.slack.dev/reference/methods/chat.delete */
  "chat.delete": {
    write: true,
    channelOf: channelArg,
    run: ({ ws, principal, args }) =>
      answer(
        deleteMessage(ws, principal, { channel: stringArg(args, "channel"), ts: stringArg(args, "ts") }),
        ({ channel, message }) => ({ channel: channel.id, ts: message.ts }),
      ),
  },

  /** https://docs.slack.dev/reference/methods/reactions.add */
  "reactions.add": {
    write: true,
    channelOf: channelArg,
    run: ({ ws, principal, args }) =>
      answer(
        addReaction(ws, principal, {
          channel: stringArg(args, "channel"),
          timestamp: stringArg(args, "timestamp"),
          name: stringArg(args, "name"),
        }),
        () => ({}),
      ),
  },

  /** https://docs.slack.dev/reference/methods/conversations.history */
  "conversations.history": {
    write: false,
    channelOf: channelArg,
    run: ({ ws, principal, args, baseUrl }) =>
      pageAnswer(ws, readHistory(ws, principal, readInput(args)), args, baseUrl),
  },

  /** https://docs.slack.dev/reference/methods/conversations.replies */
  "conversations.replies": {
    write: false,
    channelOf: channelArg,
    run: ({ ws, principal, args, baseUrl }) =>
      pageAnswer(
        ws,
        readReplies(ws, principal, { ...readInput(args), ts: stringArg(args, "ts") }),
        args,
        baseUrl,
      ),
  },

  /** https://docs.slack.dev/reference/methods/files.getUploadURLExternal */
  "files.getUploadURLExternal": {
    write: false,
    channelOf: () => undefined,
    run: ({ ws, principal, args, baseUrl }) =>
      answer(
        reserveUpload(ws, principal, {
          filename: stringArg(args, "filename"),
          length: integerArg(args, "length"),
        }),
        ({ file, uploadKey }) => ({ upload_url: `${baseUrl}/upload/v1/${uploadKey}`, file_id: file.id }),
      ),
  },

  /** https://docs.slack.dev/reference/methods/files.completeUploadExternal */
  "files.completeUploadExternal": {
    write: true,
    channelOf: (args) => stringArg(args, "channel_id") ?? stringArg(args, "channels"),
    run: ({ ws, principal, args, baseUrl }) => {
      const files = fileEntries(jsonArg(args, "files"));
      const channel = stringArg(args, "channel_id") ?? stringArg(args, "channels");
      // Sharing to several channels at once is legacy; the fake shares to one.
      if (files === null || channel?.includes(",")) return error("invalid_arguments");
      const outcome = completeUpload(ws, principal, {
        files,
        channel: channel === undefined || channel === "" ? null : channel,
        initialComment: stringArg(args, "initial_comment"),
        threadTs: stringArg(args, "thread_ts"),
      });
      return answer(outcome, (value) => ({ files: value.files.map((file) => apiFile(ws, file, baseUrl)) }));
    },
  },

  /**
   * https://docs.slack.dev/reference/methods/files.delete — the file's author or a workspace
   * admin may delete it; anyone else gets cant_delete_file.
   */
  "files.delete": {
    write: true,
    channelOf: () => undefined,
    run: ({ ws, principal, args }) => {
      const id = stringArg(args, "file") ?? "";
      if (ws.deletedFiles.includes(id)) return error("file_deleted");
      const file = ws.files.get(id);
      if (file === undefined) return error("file_not_found");
      if (file.user !== principal.userId && !principal.isAdmin) return error("cant_delete_file");
      ws.files.delete(id);
      ws.deletedFiles.push(id);
      return ok({});
    },
  },

  /** https://docs.slack.dev/reference/methods/files.info */
  "files.info": {
    write: false,
    channelOf: () => undefined,
    run: ({ ws, args, baseUrl }) => {
      const file = ws.files.get(stringArg(args, "file") ?? "");
      if (file === undefined || file.bytes === null) return error("file_not_found");
      return ok({ file: apiFile(ws, file, baseUrl) });
    },
  },
};

function readInput(args: Args): ReadInput {
  return {
    channel: stringArg(args, "channel"),
    oldest: stringArg(args, "oldest"),
    latest: stringArg(args, "latest"),
    inclusive: booleanArg(args, "inclusive"),
    limit: integerArg(args, "limit"),
    cursor: stringArg(args, "cursor"),
  };
}

function pageAnswer(ws: Workspace, outcome: Outcome<Page>, args: Args, baseUrl: string): MethodResult {
  // Metadata comes back only when asked for with include_all_metadata.
  const metadata = booleanArg(args, "include_all_metadata");
  return answer(outcome, (page) => ({
    messages: page.messages.map((message) => apiMessage(ws, page.channel, message, { metadata, baseUrl })),
    has_more: page.hasMore,
    pin_count: 0,
    ...(page.nextCursor === "" ? {} : { response_metadata: { next_cursor: page.nextCursor } }),
  }));
}

/** `files`: a non-empty array of {id, title?}, or null. */
function fileEntries(value: unknown): { id: string; title?: string }[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const entries: { id: string; title?: string }[] = [];
  for (const entry of value) {
    if (!isRecord(entry) || typeof entry.id !== "string") return null;
    entries.push(typeof entry.title === "string" ? { id: entry.id, title: entry.title } : { id: entry.id });
  }
  return entries;
}

function answer<T>(outcome: Outcome<T>, fields: (value: T) => Record<string, unknown>): MethodResult {
  if (!outcome.ok) return error(outcome.error);
  return { body: { ok: true, ...fields(outcome.value) }, changes: outcome.changes };
}

function ok(fields: Record<string, unknown>): MethodResult {
  return { body: { ok: true, ...fields }, changes: [] };
}

export function error(code: string): MethodResult {
  return { body: { ok: false, error: code }, changes: [] };
}
