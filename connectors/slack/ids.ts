// External ids of Slack messages: `${channel}:${ts}`. A ts is unique only within its channel
// (https://docs.slack.dev/reference/events/message), so the channel travels with it. An uploaded
// file whose sharing message Slack did not name yet is `file:${fileId}` instead.

/** A Slack message timestamp: seconds, a dot, microseconds ("1355517523.000005"). */
export const SLACK_TS = /^\d{1,12}\.\d{1,9}$/;
/** Channel ids are upper-case letters and digits (C…, G…, D…); never a ':'. */
const SLACK_CHANNEL = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** The external id of message `ts` in `channel`. */
export function encodeExternalId(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}

/**
 * The external id of an uploaded file when the message that shares it is unknown (Slack shares
 * asynchronously). It decodes as no message: edits, replies and reactions to it fail permanently.
 */
export function encodeFileExternalId(fileId: string): string {
  return `file:${fileId}`;
}

/** The channel and ts an external id names, or null when it is not one of ours. */
export function decodeExternalId(externalId: string): SlackMessageRef | null {
  const colon = externalId.lastIndexOf(":");
  if (colon <= 0) return null;
  const channel = externalId.slice(0, colon);
  const ts = externalId.slice(colon + 1);
  return SLACK_CHANNEL.test(channel) && SLACK_TS.test(ts) ? { channel, ts } : null;
}

/** True for a string that may stand as a channel or user id in an external id. */
export function isSlackId(value: unknown): value is string {
  return typeof value === "string" && SLACK_CHANNEL.test(value);
}

/** True for a string shaped like a Slack ts. */
export function isSlackTs(value: unknown): value is string {
  return typeof value === "string" && SLACK_TS.test(value);
}

/** Slack's `oldest`/`latest` form of a time in milliseconds. */
export function slackTsFromMs(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(6);
}
