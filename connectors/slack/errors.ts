// What a Slack Web API `error` string means for the relay: retry, wait, or give up (and whether the
// credentials are at fault). Slack answers most failures with HTTP 200 and {ok:false, error}:
// https://docs.slack.dev/apis/web-api/#responses ; rate limits: https://docs.slack.dev/apis/web-api/rate-limits
import { ConnectorPermanentError } from "../errors.ts";

export const SlackErrorClass = {
  /** Slack's own trouble: retry. */
  transient: "transient",
  /** Wait for Retry-After, then retry. */
  rateLimited: "rateLimited",
  /** The token is no good (revoked, expired, lacking a scope): nothing works until an admin acts. */
  credentials: "credentials",
  /** This request's fault (bad channel, text too long, ...): dead-letter it, the connector is fine. */
  permanent: "permanent",
} as const;
export type SlackErrorClass = (typeof SlackErrorClass)[keyof typeof SlackErrorClass];

/**
 * The `error` strings we know. Anything not listed is the request's fault (permanent); permanent
 * ones are listed only where a method's page names them, to show they were weighed.
 */
const SLACK_ERROR_CLASSES: Readonly<Record<string, SlackErrorClass>> = {
  internal_error: SlackErrorClass.transient,
  fatal_error: SlackErrorClass.transient,
  service_unavailable: SlackErrorClass.transient,
  request_timeout: SlackErrorClass.transient,
  // "The workspace is undergoing migration to an Enterprise Organization": passes by itself.
  team_added_to_org: SlackErrorClass.transient,
  ratelimited: SlackErrorClass.rateLimited,
  invalid_auth: SlackErrorClass.credentials,
  token_revoked: SlackErrorClass.credentials,
  not_authed: SlackErrorClass.credentials,
  account_inactive: SlackErrorClass.credentials,
  token_expired: SlackErrorClass.credentials,
  missing_scope: SlackErrorClass.credentials,
  no_permission: SlackErrorClass.credentials,
  ekm_access_denied: SlackErrorClass.credentials,
  not_allowed_token_type: SlackErrorClass.credentials,
  // https://docs.slack.dev/reference/methods/files.getUploadURLExternal and
  // .../files.completeUploadExternal: the file, the channel or the workspace's settings refuse it.
  invalid_arguments: SlackErrorClass.permanent,
  file_not_found: SlackErrorClass.permanent,
  file_upload_size_restricted: SlackErrorClass.permanent,
  file_uploads_disabled: SlackErrorClass.permanent,
  alt_txt_too_large: SlackErrorClass.permanent,
  channel_not_found: SlackErrorClass.permanent,
  not_in_channel: SlackErrorClass.permanent,
  // https://docs.slack.dev/reference/methods/files.delete: not ours to delete (the connector retries
  // with the admin token), gone already (counted as done), or refused by the workspace.
  cant_delete_file: SlackErrorClass.permanent,
  file_deleted: SlackErrorClass.permanent,
  delete_not_allowed: SlackErrorClass.permanent,
  file_deleting_disabled: SlackErrorClass.permanent,
};

export function classifySlackError(error: string): SlackErrorClass {
  return Object.hasOwn(SLACK_ERROR_CLASSES, error)
    ? (SLACK_ERROR_CLASSES[error] ?? SlackErrorClass.permanent)
    : SlackErrorClass.permanent;
}

/** Slack's error codes are snake_case words; anything else is not quoted into our messages. */
const SLACK_ERROR_CODE = /^[a-z][a-z0-9_.]{0,63}$/;

/** The `error` of an answer, when it is shaped like a Slack error code. */
export function slackErrorCode(value: unknown): string | null {
  return typeof value === "string" && SLACK_ERROR_CODE.test(value) ? value : null;
}

/** A permanent failure with Slack's `error` code kept, so callers can treat some codes as success. */
export class SlackPermanentError extends ConnectorPermanentError {
  override name = "SlackPermanentError";
  constructor(
    message: string,
    status: number | null,
    /** Slack's `error` code, or null when the answer had none we could read. */
    readonly slackError: string | null,
    /** True when the token itself was refused: the connector turns unhealthy. */
    readonly rejectsCredentials: boolean,
  ) {
    super(message, status);
  }
}
