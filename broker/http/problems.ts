// RFC 9457 problem details. Every error the API returns has a stable `type` from this table,
// and the table is exhaustive so every type has a status.

export const ProblemType = {
  malformedJson: "malformed-json",
  invalidBody: "invalid-body",
  invalidParameter: "invalid-parameter",
  bodyTooLarge: "body-too-large",
  textTooLong: "text-too-long",
  unsupportedMediaType: "unsupported-media-type",
  unauthenticated: "unauthenticated",
  notMember: "not-member",
  forbidden: "forbidden",
  invalidPolicy: "invalid-policy",
  policyTestsFailed: "policy-tests-failed",
  policyVersionConflict: "policy-version-conflict",
  policyNotFound: "policy-not-found",
  notSensitive: "not-sensitive",
  conversationNotFound: "conversation-not-found",
  messageNotFound: "message-not-found",
  deadLetterNotFound: "dead-letter-not-found",
  deadLetterUnreadable: "dead-letter-unreadable",
  notFound: "not-found",
  unknownConnector: "unknown-connector",
  channelAlreadyBound: "channel-already-bound",
  invalidSignature: "invalid-signature",
  invalidTarget: "invalid-target",
  targetNotStored: "target-not-stored",
  fileTooLarge: "file-too-large",
  uploadIncomplete: "upload-incomplete",
  fileBlocked: "file-blocked",
  invalidAttachment: "invalid-attachment",
  fileNotFound: "file-not-found",
  clientMsgIdConflict: "client-msg-id-conflict",
  unavailable: "unavailable",
  backlogFull: "backlog-full",
  internal: "internal",
} as const;
export type ProblemType = (typeof ProblemType)[keyof typeof ProblemType];

const problemStatus: Record<ProblemType, number> = {
  "malformed-json": 400,
  "invalid-body": 400,
  "invalid-parameter": 400,
  "body-too-large": 413,
  "text-too-long": 413,
  "unsupported-media-type": 415,
  unauthenticated: 401,
  "not-member": 403,
  forbidden: 403,
  "invalid-policy": 422,
  "policy-tests-failed": 422,
  "policy-version-conflict": 409,
  "policy-not-found": 404,
  "not-sensitive": 409,
  "conversation-not-found": 404,
  "message-not-found": 404,
  "dead-letter-not-found": 404,
  "dead-letter-unreadable": 422,
  "not-found": 404,
  "unknown-connector": 422,
  "channel-already-bound": 409,
  "invalid-signature": 401,
  "invalid-target": 422,
  "target-not-stored": 409,
  "file-too-large": 413,
  "upload-incomplete": 400,
  "file-blocked": 422,
  "invalid-attachment": 422,
  "file-not-found": 404,
  "client-msg-id-conflict": 409,
  unavailable: 503,
  "backlog-full": 503,
  internal: 500,
};

const problemTitle: Record<ProblemType, string> = {
  "malformed-json": "The request body is not valid JSON",
  "invalid-body": "The request body does not match the schema",
  "invalid-parameter": "A path or query parameter is invalid",
  "body-too-large": "The request body is too large",
  "text-too-long": "The message text is longer than the configured limit",
  "unsupported-media-type": "The request body must be application/json",
  unauthenticated: "A valid bearer token is required",
  "not-member": "The caller is not a member of this conversation",
  forbidden: "The caller lacks the role this action needs",
  "invalid-policy": "The policy does not validate",
  "policy-tests-failed": "The policy fails its own tests",
  "policy-version-conflict": "This policy version is already stored with other content",
  "policy-not-found": "No such policy version",
  "not-sensitive": "The conversation is not sensitive",
  "conversation-not-found": "No such conversation",
  "message-not-found": "No such message, or it is not routed yet",
  "dead-letter-not-found": "No such dead letter",
  "dead-letter-unreadable": "The dead letter cannot be read, so it cannot be redriven",
  "not-found": "No such resource",
  "unknown-connector": "No connector of this kind is configured",
  "channel-already-bound": "This cloud channel is already bound to another conversation",
  "invalid-signature": "The delivery's signature or timestamp does not verify",
  "invalid-target": "replyTo or targetId names a message this request may not refer to",
  "target-not-stored": "replyTo or targetId names no stored message (yet); retry shortly",
  "file-too-large": "The file is larger than the configured limit",
  "upload-incomplete": "The upload ended before all its bytes arrived; nothing was kept",
  "file-blocked": "The policy refuses this file",
  "invalid-attachment": "An attachment is not a file of this conversation",
  "file-not-found": "No such file, or it is not visible to the caller",
  "client-msg-id-conflict": "This clientMsgId was already used for a different message",
  unavailable: "A backing service is unavailable; retry later",
  "backlog-full": "Too many messages are waiting to be routed; retry later",
  internal: "Internal error",
};

export const problemTypeBase = "urn:watershed:problem:";

export interface FieldError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ProblemError extends Error {
  override name = "ProblemError";
  readonly status: number;
  constructor(
    readonly type: ProblemType,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Further members of the problem object (RFC 9457 extensions). */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail ?? problemTitle[type]);
    this.status = problemStatus[type];
  }

  toJSON(instance: string): Record<string, unknown> {
    return {
      type: problemTypeBase + this.type,
      title: problemTitle[this.type],
      status: this.status,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.errors === undefined ? {} : { errors: this.errors }),
      ...this.extensions,
      instance,
    };
  }
}
