// The relay: RELAY -> each configured connector, in order per partition, with retries and
// dead letters. It re-checks the sticky flag before every send: a conversation that turned
// sensitive after a message was routed never has anything more relayed.
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type pg from "pg";
import {
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  type Connector,
  type SendResult,
} from "../../connectors/index.ts";
import { redact, redactionIsComplete } from "../../policies/index.ts";
import type { Binding, Message } from "../../policies/model.ts";
import { selectRelayState } from "../db/conversations.ts";
import { insertExternalId } from "../db/external-ids.ts";
import { decode, encode, RoutedEnvelope, type DeadLetter } from "../nats/envelope.ts";
import { runConsumerLoops, type ConsumerLoops } from "../nats/ordered-consumer.ts";
import { partitionOf, type Topology } from "../nats/topology.ts";
import { contextFrom, counters, inSpan } from "../telemetry/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { backoffDelay, type BackoffSettings } from "./backoff.ts";

export interface RelayDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  topo: Topology;
  connectors: readonly Connector[];
  maxAttempts: number;
  backoff: BackoffSettings;
  log: Logger;
}

/** A Retry-After longer than this is treated as this: the message must not sit for hours. */
const maxRetryAfterMs = 10 * 60 * 1000;

/**
 * Failed sends per message and connector. Only the connector's failures count toward
 * `maxAttempts`: a redelivery caused by PostgreSQL or NATS being away must not use them up. Held
 * in memory, at most one entry per partition at a time; after a restart the count starts again,
 * which errs towards more retries, never fewer.
 */
type FailedSends = Map<string, number>;

export function startRelay(deps: RelayDeps): ConsumerLoops {
  const { topo } = deps;
  const names = Array.from({ length: topo.partitions }, (_, p) => topo.relayConsumer(p));
  const failed: FailedSends = new Map();
  return runConsumerLoops(deps.js, topo.streams.relay, names, (msg) => relayOne(deps, failed, msg), deps.log);
}

async function relayOne(deps: RelayDeps, failed: FailedSends, msg: JsMsg): Promise<void> {
  const { log } = deps;
  let envelope: RoutedEnvelope;
  try {
    envelope = decode(RoutedEnvelope, msg.data);
  } catch (error) {
    // Not the error itself: a JSON parse error can quote the start of the message text.
    log.error(
      { seq: msg.seq, error: (error as Error).name },
      "unreadable RELAY message dropped from relay (kept on-prem)",
    );
    msg.term(); // no reason: nats-server 2.9 ignores "+TERM <reason>"
    return;
  }
  const { message, decision } = envelope;
  await inSpan(
    "watershed.relay",
    contextFrom(msg.headers),
    async () => {
      // Fail closed: relay only what was decided for the cloud and whose conversation is still normal.
      const state = await selectRelayState(deps.pool, message.conversationId, message.id);
      if (decision.zone !== "cloud" || state === null || state.sensitive) {
        log.info(
          { messageId: message.id, conversationId: message.conversationId },
          "relay withheld: sensitive now",
        );
        forget(failed, message.id, deps.connectors);
        msg.ack();
        return;
      }
      if (decision.actions.includes("redact") && !redactionIsComplete(decision.detections)) {
        log.warn({ messageId: message.id }, "relay withheld: too many detections to redact safely");
        forget(failed, message.id, deps.connectors);
        msg.ack();
        return;
      }
      for (const connector of deps.connectors) {
        // Delivered before a crash or a lost ack: never send it twice.
        if (state.deliveredTo.includes(connector.kind)) continue;
        const binding = state.bindings.find((b) => b.connector === connector.kind) ?? null;
        const outcome = await deliver(deps, failed, connector, { envelope, binding }, msg);
        if (outcome === "retry") return;
      }
      msg.ack();
    },
    { "watershed.message_id": message.id },
  );
}

async function deliver(
  deps: RelayDeps,
  failed: FailedSends,
  connector: Connector,
  { envelope, binding }: { envelope: RoutedEnvelope; binding: Binding | null },
  msg: JsMsg,
): Promise<"done" | "retry"> {
  const { message } = envelope;
  const key = `${message.id}:${connector.kind}`;
  let result: SendResult;
  try {
    result = await connector.send({ message: outgoing(envelope), binding });
  } catch (error) {
    const attempts = (failed.get(key) ?? 0) + 1;
    failed.set(key, attempts);
    const reason = (error as Error).message;
    if (error instanceof ConnectorPermanentError || attempts >= deps.maxAttempts) {
      await deadLetter(deps, connector, envelope, reason, attempts);
      failed.delete(key);
      return "done";
    }
    // Retry-After is honoured, but never below the backoff: "0" must not make a tight loop.
    const delay = Math.max(
      backoffDelay(attempts, deps.backoff),
      error instanceof ConnectorRateLimitedError ? Math.min(error.retryAfterMs, maxRetryAfterMs) : 0,
    );
    deps.log.warn(
      { messageId: message.id, connector: connector.kind, attempts, delayMs: delay, reason },
      "relay attempt failed; will retry",
    );
    msg.nak(delay);
    return "retry";
  }
  failed.delete(key);
  // Outside the send's error path: if recording fails, the handler fails and the message comes
  // back; the resend carries the same idempotency key, so the cloud keeps one copy.
  await insertExternalId(deps.pool, message.id, connector.kind, result.externalId);
  counters.relayed.add(1, { connector: connector.kind });
  return "done";
}

/** Drops the failure counts of a message that will not be sent again. */
function forget(failed: FailedSends, messageId: string, connectors: readonly Connector[]): void {
  for (const connector of connectors) failed.delete(`${messageId}:${connector.kind}`);
}

/**
 * What the cloud gets: the sender's id but not their roles, groups or department, no client
 * idempotency key, and with a `redact` rule each detected span replaced by its type.
 */
function outgoing({ message, decision }: RoutedEnvelope): Message {
  const minimal = {
    ...message,
    sender: { id: message.sender.id, roles: [], groups: [], department: null },
    clientMsgId: null,
  };
  if (!decision.actions.includes("redact")) return minimal;
  return { ...minimal, text: redact(message.text, decision.detections) };
}

async function deadLetter(
  deps: RelayDeps,
  connector: Connector,
  envelope: RoutedEnvelope,
  reason: string,
  attempts: number,
): Promise<void> {
  const letter: DeadLetter = {
    envelope,
    connector: connector.kind,
    reason,
    attempts,
    failedAt: new Date().toISOString(),
  };
  const partition = partitionOf(envelope.message.conversationId, deps.topo.partitions);
  await deps.js.publish(deps.topo.dlqSubject(partition), encode(letter), {
    msgID: `${envelope.message.id}:${connector.kind}`,
  });
  counters.deadLettered.add(1, { connector: connector.kind });
  deps.log.error(
    { messageId: envelope.message.id, connector: connector.kind, attempts, reason },
    "message dead-lettered",
  );
}
