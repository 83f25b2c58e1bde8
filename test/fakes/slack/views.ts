// How stored messages and files look in Web API answers, in events, and to the test's inspection.
// https://docs.slack.dev/reference/events/message (message fields), https://docs.slack.dev/reference/methods/conversations.history
// https://docs.slack.dev/reference/objects/file-object
import type { FakeSlackMessage } from "./types.ts";
import type { StoredChannel, StoredFile, StoredMessage, Workspace } from "./workspace.ts";

const MIME_TYPES: Record<string, string> = {
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  zip: "application/zip",
};

/** The message object of chat.postMessage, conversations.history and events. */
export function apiMessage(
  ws: Workspace,
  channel: StoredChannel,
  message: StoredMessage,
  options: { metadata: boolean; baseUrl: string },
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: "message",
    user: message.user,
    text: message.text,
    ts: message.ts,
    team: ws.teamId,
  };
  if (message.clientMsgId !== null) out.client_msg_id = message.clientMsgId;
  if (message.botId !== null) {
    out.bot_id = message.botId;
    out.app_id = ws.appId;
    out.bot_profile = {
      id: message.botId,
      app_id: ws.appId,
      name: ws.botName,
      deleted: false,
      team_id: ws.teamId,
    };
  }
  if (message.username !== null) out.username = message.username;
  if (message.threadTs !== null) {
    out.thread_ts = message.threadTs;
    const root = channel.messages.find((m) => m.ts === message.threadTs);
    if (root !== undefined) out.parent_user_id = root.user;
  } else {
    const replies = ws.replies(channel, message.ts);
    if (replies.length > 0) {
      const replyUsers = [...new Set(replies.map((reply) => reply.user))];
      out.thread_ts = message.ts;
      out.reply_count = replies.length;
      out.reply_users = replyUsers;
      out.reply_users_count = replyUsers.length;
      out.latest_reply = replies[replies.length - 1]?.ts;
    }
  }
  if (message.edited !== null) out.edited = { ...message.edited };
  if (message.reactions.length > 0) {
    out.reactions = message.reactions.map((r) => ({
      name: r.name,
      users: [...r.users],
      count: r.users.length,
    }));
  }
  if (message.files.length > 0) {
    out.files = message.files.map((file) => apiFile(ws, file, options.baseUrl));
    out.upload = message.botId === null;
    out.display_as_bot = false;
  }
  if (options.metadata && message.metadata !== null) out.metadata = message.metadata;
  return out;
}

/** The file object of files.info, files.completeUploadExternal and message `files`. */
export function apiFile(ws: Workspace, file: StoredFile, baseUrl: string): Record<string, unknown> {
  const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  const privateUrl = `${baseUrl}/files-pri/${ws.teamId}-${file.id}/${encodeURIComponent(file.name)}`;
  const channels = [...new Set(file.shares.map((share) => share.channel))];
  const shares: Record<string, { ts: string; channel_name: string; team_id: string }[]> = {};
  for (const share of file.shares) {
    const name = ws.channels.get(share.channel)?.name ?? "";
    (shares[share.channel] ??= []).push({ ts: share.ts, channel_name: name, team_id: ws.teamId });
  }
  return {
    id: file.id,
    created: file.created,
    timestamp: file.created,
    name: file.name,
    title: file.title,
    mimetype: MIME_TYPES[extension] ?? "application/octet-stream",
    filetype: extension || "binary",
    user: file.user,
    user_team: ws.teamId,
    editable: false,
    size: file.size,
    mode: "hosted",
    is_external: false,
    external_type: "",
    is_public: channels.length > 0,
    public_url_shared: false,
    url_private: privateUrl,
    url_private_download: `${baseUrl}/files-pri/${ws.teamId}-${file.id}/download/${encodeURIComponent(file.name)}`,
    permalink: `https://${ws.teamDomain}.slack.com/files/${file.user}/${file.id}/${encodeURIComponent(file.name)}`,
    channels,
    groups: [],
    ims: [],
    shares: channels.length > 0 ? { public: shares } : {},
    comments_count: 0,
  };
}

/** What `messages(channel)` hands a test. */
export function inspectMessage(message: StoredMessage): FakeSlackMessage {
  return {
    ts: message.ts,
    text: message.text,
    user: message.user,
    bot_id: message.botId,
    thread_ts: message.threadTs,
    edited: message.edited !== null,
    reactions: message.reactions.map((r) => ({ name: r.name, users: [...r.users] })),
    metadata: message.metadata === null ? null : structuredClone(message.metadata),
    files: message.files.map((file) => ({
      id: file.id,
      name: file.name,
      title: file.title,
      size: file.size,
    })),
    username: message.username,
  };
}
