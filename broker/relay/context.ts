// What the relay's steps share: its dependencies, rate limits and failure counts.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import type { Connector } from "../../connectors/index.ts";
import type { Message } from "../../policies/model.ts";
import type { ExternalIdRow } from "../db/external-ids.ts";
import type { RelayState } from "../db/relay-state.ts";
import type { ObjectStore } from "../files/types.ts";
import type { Topology } from "../nats/topology.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Attempts } from "./attempts.ts";
import type { BackoffSettings } from "./backoff.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export interface RelayDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  nc: NatsConnection;
  topo: Topology;
  connectors: readonly Connector[];
  maxAttempts: number;
  backoff: BackoffSettings;
  /** The consumers' ack wait: a handler waiting for a rate limit keeps its message alive within it. */
  ackWaitMs: number;
  /** Where attached files are read from for upload. */
  store: ObjectStore;
  /** The notice a cloud channel gets when its conversation turns sensitive. */
  sensitiveNotice: string;
  log: Logger;
}

/** What every delivery step shares inside one relay. */
export interface RelayContext extends RelayDeps {
  limiter: RateLimiter;
  attempts: Attempts;
  /** A message's relay state, read with the other partitions' in one statement. */
  relayState: (message: Message) => Promise<RelayState | null>;
  /** Records a cloud id, written with the other partitions' in one statement. */
  recordExternalId: (row: ExternalIdRow) => Promise<void>;
}
