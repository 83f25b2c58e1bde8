// The Events API payloads Slack sends for changes in a workspace, and the envelope around them.
// https://docs.slack.dev/apis/events-api
// https://docs.slack.dev/reference/objects/event-object
import { newId } from "./ids.ts";
import type { EventEnvelope, SlackEvent } from "./types.ts";
import { apiMessage } from "./views.ts";
import type { Change, StoredChannel, StoredMessage, Workspace } from "./workspace.ts";

/** The events one change produces, in the order Slack sends them. */
export function eventsFor(ws: Workspace, change: Change, baseUrl: string): SlackEvent[] {
  const { channel } = change;
  const view = (message: StoredMessage): Record<string, unknown> =>
    apiMessage(ws, channel, message, { metadata: false, baseUrl });
  switch (change.kind) {
    case "posted":
      return postedEvents(ws, channel, change.message, view(change.message));
    // https://docs.slack.dev/reference/events/message/message_changed
    case "edited":
      return [
        {
          type: "message",
          subtype: "message_changed",
          hidden: true,
          channel: channel.id,
          channel_type: "channel",
          ts: change.eventTs,
          event_ts: change.eventTs,
          message: view(change.after),
          previous_message: view(change.before),
        },
      ];
    // https://docs.slack.dev/reference/events/message/message_deleted
    case "deleted":
      return [
        {
          type: "message",
          subtype: "message_deleted",
          hidden: true,
          channel: channel.id,
          channel_type: "channel",
          ts: change.eventTs,
          event_ts: change.eventTs,
          deleted_ts: change.message.ts,
          previous_message: view(change.message),
        },
      ];
    // https://docs.slack.dev/reference/events/reaction_added
    case "reacted":
      return [
        {
          type: "reaction_added",
          user: change.user,
          reaction: change.name,
          item_user: change.message.user,
          item: { type: "message", channel: channel.id, ts: change.message.ts },
          event_ts: change.eventTs,
        },
      ];
  }
}

/**
 * https://docs.slack.dev/reference/events/message — a new message; shared files make it the
 * `file_share` subtype, followed by one https://docs.slack.dev/reference/events/file_shared per file.
 */
function postedEvents(
  ws: Workspace,
  channel: StoredChannel,
  message: StoredMessage,
  view: Record<string, unknown>,
): SlackEvent[] {
  const event: SlackEvent = {
    ...view,
    type: "message",
    channel: channel.id,
    event_ts: message.ts,
    channel_type: "channel",
  };
  if (message.files.length === 0) return [event];
  event.subtype = "file_share";
  const shared = message.files.map((file): SlackEvent => ({
    type: "file_shared",
    channel_id: channel.id,
    file_id: file.id,
    user_id: message.user,
    file: { id: file.id },
    event_ts: message.ts,
  }));
  return [event, ...shared];
}

/** The `event_callback` envelope, authorised for the app's bot user. */
export function envelopeFor(ws: Workspace, event: SlackEvent, verificationToken: string): EventEnvelope {
  const eventId = newId.event();
  const eventTime = ws.nowSeconds();
  const context = { et: event.type, tid: ws.teamId, aid: ws.appId, cid: event.channel ?? event.channel_id };
  return {
    token: verificationToken,
    team_id: ws.teamId,
    context_team_id: ws.teamId,
    context_enterprise_id: null,
    api_app_id: ws.appId,
    event,
    type: "event_callback",
    event_id: eventId,
    event_time: eventTime,
    authorizations: [
      {
        enterprise_id: null,
        team_id: ws.teamId,
        user_id: ws.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify(context)).toString("base64url")}`,
  };
}
