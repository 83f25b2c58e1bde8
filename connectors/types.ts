// The interface every connector implements. A connector knows its cloud's API and nothing of NATS
// or PostgreSQL; the relay worker asks what it can do, never which it is.
//
// Cloud ids ("external ids") are opaque strings a connector makes and gets back: the relay keeps
// them in its id mapping and hands them back for edits, deletes, replies and reactions. A
// connector encodes in them whatever it needs to address the message later (Slack: channel and ts).
import type { z } from "zod";
import type { Message, MessageKind } from "../policies/model.ts";

export const Capability = {
  threads: "threads",
  edits: "edits",
  deletes: "deletes",
  reactions: "reactions",
  files: "files",
  /** The cloud API deduplicates sends by an idempotency key we pass. */
  idempotentSend: "idempotentSend",
  /** Posts a plain notice to a channel (the "continues on-prem" notice on reclassification). */
  notices: "notices",
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];

/** A token bucket: `perSecond` sustained, up to `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** The cloud's documented write limits, which the relay's token buckets keep to. */
export interface RateLimits {
  /** Per bound channel (Slack: about one message per second per channel). */
  perChannel: RateLimit | null;
  /** Across the whole connector (workspace or app). */
  overall: RateLimit | null;
}

/** What every outbound call has: where it goes, and whether an earlier try may have landed. */
export interface OutboundTarget {
  /**
   * The cloud channel of the conversation's binding; empty when the conversation has no binding
   * and the connector takes unbound conversations too (`sendsUnbound`).
   */
  channel: string;
  /**
   * True when an earlier attempt of this same operation ended without a known outcome (timeout,
   * network error, 5xx, or a redelivery after a crash). A connector whose cloud offers a way to
   * check must check before sending again; it must never blindly repeat a send.
   */
  maybeSent: boolean;
}

/** A message to post. The text is already redacted and the sender stripped to its id. */
export interface SendRequest extends OutboundTarget {
  message: Message;
  /** The cloud id of the message this one replies to, when that one is in the cloud. */
  threadOf: string | null;
}

export interface SendResult {
  /** The cloud's id for the delivered message, kept in the id mapping. */
  externalId: string;
  /** For an upload: the cloud's id of the file itself (what `deleteFile` takes), when known. */
  cloudFileId?: string;
}

/** An edit of a message that is in the cloud under `target`. */
export interface EditRequest extends OutboundTarget {
  message: Message;
  target: string;
}

/** Deletes the cloud message `target`: a delete by its author, or a retraction. */
export interface DeleteRequest extends OutboundTarget {
  target: string;
  /**
   * Why: `author` relays an on-prem delete of our own post; `retract` removes a message the
   * policy withdrew, which may have been written by a cloud user (needs elevated rights).
   */
  reason: "author" | "retract";
  /** The on-prem delete being relayed (reason `author`); absent for a retraction. */
  message?: Message;
}

/** A reaction (its name in `message.text`) to the cloud message `target`. */
export interface ReactRequest extends OutboundTarget {
  message: Message;
  target: string;
}

/** A plain notice from the broker itself; `key` identifies it for the outcome check. */
export interface NoticeRequest extends OutboundTarget {
  text: string;
  key: string;
}

/** A file to share into a channel. The bytes are streamed from the on-prem store, never held whole. */
export interface UploadRequest extends OutboundTarget {
  /** Our id of the file (a UUID). */
  fileId: string;
  filename: string;
  title: string | null;
  /** Exact length in bytes: clouds want it before the bytes. */
  size: number;
  /** The media type found from the bytes. */
  contentType: string;
  /** Opens the bytes from the start; called again for each try. */
  open(): AsyncIterable<Uint8Array>;
  /** The cloud id of the message the file replies to, when that one is in the cloud. */
  threadOf: string | null;
  /** Text shared with the file, if any (already redacted like a message's text). */
  comment: string | null;
}

export interface ConnectorHealth {
  healthy: boolean;
  /** Safe to show and log: never a credential. */
  detail: string;
}

/** One canonical event a cloud delivery turned into; the broker maps ids and identities. */
export interface InboundEvent {
  /** Stable across the cloud's retries of one delivery: the deduplication key. */
  eventId: string;
  channel: string;
  /** The cloud's user id of the author. */
  user: string;
  kind: MessageKind;
  /** Body text; for a reaction, its name; empty for a delete. */
  text: string;
  /** The cloud id of this message (kind `message`), kept in the id mapping. */
  externalId: string | null;
  /** The cloud id of the thread's parent, for a reply. */
  threadOf: string | null;
  /** The cloud id of the message an edit, delete or reaction applies to. */
  target: string | null;
  /** Files shared with the message (kind `message`); empty when none. */
  files: InboundFile[];
}

/** A file shared in the cloud, as an inbound event names it; `downloadFile` fetches its bytes. */
export interface InboundFile {
  /** The cloud's file id. */
  id: string;
  name: string;
  /** Size in bytes as the cloud reports it; the download is checked against it. */
  size: number;
  /** Where `downloadFile` reads it from (e.g. Slack's url_private_download). */
  url: string;
}

/** A cloud's HTTP delivery as the broker received it, body untouched (signatures cover the bytes). */
export interface InboundRequest {
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  rawBody: Buffer;
}

export type InboundResult =
  /** Signature, timestamp or shape refused: answer 401 and keep nothing. */
  | { kind: "rejected"; reason: string }
  /** Answer this body as it is (e.g. Slack's url_verification challenge). */
  | { kind: "reply"; body: unknown }
  /** Verified; zero or more events to accept (bots' own echoes are already left out). */
  | { kind: "events"; events: InboundEvent[] };

export interface InboundEndpoint {
  /** Verifies and parses one delivery. Pure apart from the clock; never throws on bad input. */
  handle(request: InboundRequest): InboundResult;
  /** The on-prem identity of a cloud user, or null when the mapping has none. */
  identityOf(user: string): string | null;
}

export interface Connector {
  readonly kind: string;
  readonly capabilities: ReadonlySet<Capability>;
  readonly rateLimits: RateLimits;
  /**
   * True for a connector that receives every relayed message (a generic webhook); false for one
   * that posts only into channels conversations are bound to. @default false
   */
  readonly sendsUnbound?: boolean;
  send(request: SendRequest, signal?: AbortSignal): Promise<SendResult>;
  /**
   * Looks for the message an earlier, unanswered send may have posted, without posting; null when
   * it is not there. Present when the cloud offers a way to look.
   */
  find?(request: SendRequest, signal?: AbortSignal): Promise<SendResult | null>;
  /** Why `channel` cannot be a binding of this connector (e.g. a name where an id is needed), or null. */
  channelProblem?(channel: string): string | null;
  /** Present when `capabilities` has `edits`. */
  edit?(request: EditRequest, signal?: AbortSignal): Promise<void>;
  /** Present when `capabilities` has `deletes`. A message already gone counts as deleted. */
  delete?(request: DeleteRequest, signal?: AbortSignal): Promise<void>;
  /** Present when `capabilities` has `reactions`. A reaction already there counts as added. */
  react?(request: ReactRequest, signal?: AbortSignal): Promise<void>;
  /** Present when `capabilities` has `notices`. */
  notice?(request: NoticeRequest, signal?: AbortSignal): Promise<SendResult>;
  /** Present when `capabilities` has `files`; returns the cloud id of the shared file's message. */
  uploadFile?(request: UploadRequest, signal?: AbortSignal): Promise<SendResult>;
  /** Streams a file shared in the cloud (an inbound event's file); present with `inbound` and `files`. */
  downloadFile?(file: InboundFile, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /** Deletes a cloud file (a retraction of a file shared there); a file already gone counts as deleted. */
  deleteFile?(fileId: string, signal?: AbortSignal): Promise<void>;
  /** Present when the cloud sends events to the broker. */
  readonly inbound?: InboundEndpoint;
  /** The last known state, without a network call. */
  health(): ConnectorHealth;
  /** Asks the cloud whether the credentials still work (Slack: auth.test) and updates `health()`. */
  checkHealth(signal?: AbortSignal): Promise<ConnectorHealth>;
  close(): Promise<void>;
}

/** Dependencies a connector may use; one bag so new ones do not change every signature. */
export interface ConnectorDeps {
  fetch: typeof globalThis.fetch;
  now: () => number;
}

/** The static side: what a connector kind is and how to make one from its validated config. */
export interface ConnectorFactory<Schema extends z.ZodType = z.ZodType> {
  readonly kind: string;
  readonly configSchema: Schema;
  create(config: z.infer<Schema>, deps: ConnectorDeps): Connector;
}
