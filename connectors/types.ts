// The interface every connector implements. A connector knows its cloud's API and
// nothing of NATS or PostgreSQL; the relay worker asks what it can do, never which it is.
import type { z } from "zod";
import type { Binding, Message } from "../policies/model.ts";

export const Capability = {
  threads: "threads",
  edits: "edits",
  deletes: "deletes",
  reactions: "reactions",
  files: "files",
  /** The cloud API deduplicates sends by an idempotency key we pass. */
  idempotentSend: "idempotentSend",
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];

/** What the relay hands a connector: the message and where it goes. */
export interface OutboundMessage {
  message: Message;
  binding: Binding | null;
}

export interface SendResult {
  /** The cloud's id for the delivered message, kept in the id mapping. */
  externalId: string;
}

export interface ConnectorHealth {
  healthy: boolean;
  detail: string;
}

export interface Connector {
  readonly kind: string;
  readonly capabilities: ReadonlySet<Capability>;
  send(outbound: OutboundMessage, signal?: AbortSignal): Promise<SendResult>;
  health(): ConnectorHealth;
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
