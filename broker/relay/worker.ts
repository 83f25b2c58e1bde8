// The relay: RELAY -> each configured connector, in order per partition, with rate limits,
// retries and dead letters. It re-checks the sticky flag before every send: a conversation that
// turned sensitive after a message was routed never has anything more relayed. A reclassification
// entry posts the "continues on-prem" notice and, when the policy asked, retracts what the
// conversation has in the cloud.
import type { Connector } from "../../connectors/index.ts";
import { redact, redactionIsComplete } from "../../policies/index.ts";
import type { Message } from "../../policies/model.ts";
import { createBatcher } from "../db/batcher.ts";
import { insertExternalIds } from "../db/external-ids.ts";
import { selectRelayStates, type RelayState } from "../db/relay-state.ts";
import { redriveHeader } from "../dlq/index.ts";
import { decode, encode, RelayEntry, type DeadLetter, type RoutedEnvelope } from "../nats/envelope.ts";
import { runConsumerLoops, type ConsumerLoops } from "../nats/ordered-consumer.ts";
import { partitionOf } from "../nats/topology.ts";
import type { Delivery } from "../nats/pull.ts";
import { contextFrom, counters, inSpan } from "../telemetry/index.ts";
import { attempt } from "./attempt.ts";
import { createAttempts } from "./attempts.ts";
import type { RelayContext, RelayDeps } from "./context.ts";
import { relayFiles, relaysFiles } from "./files.ts";
import { operationFor } from "./operations.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { handleReclassified } from "./reclassify.ts";
import { keepingAlive } from "./wait.ts";

export function startRelay(deps: RelayDeps): ConsumerLoops {
  const { topo } = deps;
  const names = Array.from({ length: topo.partitions }, (_, p) => topo.relayConsumer(p));
  const relay: RelayContext = {
    ...deps,
    limiter: createRateLimiter(),
    attempts: createAttempts(),
    relayState: createBatcher((messages) => selectRelayStates(deps.pool, messages)),
    recordExternalId: createBatcher((rows) => insertExternalIds(deps.pool, rows)),
  };
  return runConsumerLoops(
    deps.nc,
    topo.streams.relay,
    names,
    (msg, stopping) => keepingAlive(msg, deps.ackWaitMs, () => relayOne(relay, msg, stopping)),
    deps.log,
  );
}

async function relayOne(relay: RelayContext, msg: Delivery, stopping: AbortSignal): Promise<void> {
  let entry: RelayEntry;
  try {
    entry = decode(RelayEntry, msg.data);
  } catch (error) {
    // Not the error itself: a JSON parse error can quote the start of the message text.
    relay.log.error(
      { seq: msg.seq, error: (error as Error).name },
      "unreadable RELAY message dropped from relay (kept on-prem)",
    );
    msg.term(); // no reason: nats-server 2.9 ignores "+TERM <reason>"
    return;
  }
  if ("reclassified" in entry) {
    const outcome = await handleReclassified(relay, entry.reclassified, msg, stopping);
    if (outcome === "done") msg.ack();
    return;
  }
  await inSpan(
    "watershed.relay",
    contextFrom(msg.headers),
    async () => {
      if ((await relayRouted(relay, entry, msg, stopping)) === "done") msg.ack();
    },
    { "watershed.message_id": entry.message.id },
  );
}

async function relayRouted(
  relay: RelayContext,
  envelope: RoutedEnvelope,
  msg: Delivery,
  stopping: AbortSignal,
): Promise<"done" | "retry"> {
  const { message, decision } = envelope;
  const { log } = relay;
  // Fail closed: relay only what was decided for the cloud and whose conversation is still normal.
  const state = await relay.relayState(message);
  if (decision.zone !== "cloud" || state === null || state.sensitive) {
    log.info(
      { messageId: message.id, conversationId: message.conversationId },
      "relay withheld: sensitive now",
    );
    // An earlier try may have landed without an answer: find it, so a retraction can reach it.
    if (state !== null && (await recordLandedSends(relay, envelope, state, msg, stopping)) === "retry") {
      return "retry";
    }
    relay.attempts.forget(message.id);
    return "done";
  }
  if (decision.actions.includes("redact") && !redactionIsComplete(decision.detections)) {
    log.warn({ messageId: message.id }, "relay withheld: too many detections to redact safely");
    relay.attempts.forget(message.id);
    return "done";
  }
  const outgoing = outgoingMessage(envelope);
  for (const connector of relay.connectors) {
    // Delivered before a crash or a lost ack, or written in that cloud: never send it twice.
    if (state.deliveredTo.includes(connector.kind)) continue;
    const binding = state.bindings.find((b) => b.connector === connector.kind);
    if (!binding && connector.sendsUnbound !== true) continue;
    if (relaysFiles(connector, outgoing)) {
      const threadOf = state.threadOf[connector.kind] ?? null;
      const uploaded = await relayFiles(relay, connector, outgoing, {
        channel: binding?.channel ?? "",
        threadOf,
        msg,
        stopping,
      });
      if (uploaded.kind === "retry") return "retry";
      if (uploaded.kind === "withheld") {
        log.info({ messageId: message.id, connector: connector.kind }, "relay withheld: sensitive now");
        continue;
      }
      if (uploaded.kind === "failed") {
        await deadLetter(relay, connector, envelope, { ...uploaded, seq: msg.seq });
        continue;
      }
      await relay.recordExternalId({
        messageId: message.id,
        conversationId: message.conversationId,
        connector: connector.kind,
        externalId: uploaded.value,
        kind: message.kind,
      });
      counters.relayed.add(1, { connector: connector.kind });
      continue;
    }
    const operation = operationFor(connector, outgoing, {
      channel: binding?.channel ?? "",
      threadOf: state.threadOf[connector.kind] ?? null,
      target: state.target[connector.kind] ?? null,
    });
    if (operation.kind === "missing-target") {
      // Decided for the cloud but not there: it was dead-lettered (or relayed before the binding).
      // Dead-letter this one too, so a redrive of both, oldest first, leaves the cloud right.
      if (state.targetZone === "cloud") {
        const reason = `its target ${message.targetId ?? ""} is not in ${connector.kind}; redrive the target first`;
        await deadLetter(relay, connector, envelope, { reason, attempts: 0, seq: msg.seq });
      }
      continue;
    }
    if (operation.kind === "skip") {
      log.info({ messageId: message.id, connector: connector.kind, why: operation.why }, "not relayed");
      continue;
    }
    const key = `${message.id}:${connector.kind}`;
    const outcome = await attempt(
      relay,
      connector,
      { key, channel: operation.channel, msg, stopping },
      (maybeSent) => operation.run(maybeSent),
    );
    if (outcome.kind === "retry") return "retry";
    if (outcome.kind === "failed") {
      await deadLetter(relay, connector, envelope, { ...outcome, seq: msg.seq });
      continue;
    }
    await relay.recordExternalId({
      messageId: message.id,
      conversationId: message.conversationId,
      connector: connector.kind,
      externalId: outcome.value,
      kind: message.kind,
    });
    counters.relayed.add(1, { connector: connector.kind });
  }
  return "done";
}

/**
 * For a message withheld after a try whose outcome is unknown: asks each connector that can
 * look whether the post landed, and records it in the id mapping if so.
 */
async function recordLandedSends(
  relay: RelayContext,
  envelope: RoutedEnvelope,
  state: RelayState,
  msg: Delivery,
  stopping: AbortSignal,
): Promise<"done" | "retry"> {
  const { message } = envelope;
  if (message.kind !== "message") return "done";
  const redelivered = msg.info.deliveryCount > 1 || msg.headers?.has(redriveHeader) === true;
  for (const connector of relay.connectors) {
    const find = connector.find?.bind(connector);
    const key = `${message.id}:${connector.kind}`;
    const binding = state.bindings.find((b) => b.connector === connector.kind);
    if (!find || !binding || state.deliveredTo.includes(connector.kind)) continue;
    if (!relay.attempts.maybeSent(key, redelivered)) continue;
    const request = {
      message: outgoingMessage(envelope),
      channel: binding.channel,
      threadOf: state.threadOf[connector.kind] ?? null,
      maybeSent: true,
    };
    const outcome = await attempt(relay, connector, { key, channel: binding.channel, msg, stopping }, () =>
      find(request),
    );
    if (outcome.kind === "retry") return "retry";
    if (outcome.kind === "failed") {
      relay.log.error(
        { connector: connector.kind, messageId: message.id, reason: outcome.reason },
        "landed send not checked",
      );
      continue;
    }
    if (outcome.value === null) continue;
    await relay.recordExternalId({
      messageId: message.id,
      conversationId: message.conversationId,
      connector: connector.kind,
      externalId: outcome.value.externalId,
      kind: message.kind,
    });
  }
  return "done";
}

/**
 * What the cloud gets: the sender's id but not their roles, groups or department, no client
 * idempotency key, and with a `redact` rule each detected span replaced by its type.
 */
function outgoingMessage({ message, decision }: RoutedEnvelope): Message {
  const minimal = {
    ...message,
    sender: { id: message.sender.id, roles: [], groups: [], department: null },
    clientMsgId: null,
  };
  if (!decision.actions.includes("redact")) return minimal;
  return { ...minimal, text: redact(message.text, decision.detections) };
}

async function deadLetter(
  relay: RelayContext,
  connector: Connector,
  envelope: RoutedEnvelope,
  { reason, attempts, seq }: { reason: string; attempts: number; seq: number },
): Promise<void> {
  const letter: DeadLetter = {
    envelope,
    connector: connector.kind,
    reason,
    attempts,
    failedAt: new Date().toISOString(),
  };
  const partition = partitionOf(envelope.message.conversationId, relay.topo.partitions);
  await relay.js.publish(relay.topo.dlqSubject(partition), encode(letter), {
    // Once per RELAY entry: a redriven message that fails again is dead-lettered again.
    msgID: `${envelope.message.id}:${connector.kind}:${seq}`,
  });
  counters.deadLettered.add(1, { connector: connector.kind });
  relay.log.error(
    { messageId: envelope.message.id, connector: connector.kind, attempts, reason },
    "message dead-lettered",
  );
}
