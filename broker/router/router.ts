// The router: INGRESS -> decision -> ONPREM (every message) and RELAY (normal only) -> ack.
// Nothing is acknowledged before the decision, the sticky flag and both publishes are durable.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import type { EvaluationInput, Policy } from "../../policies/index.ts";
import type { RoutingDecision } from "../../policies/model.ts";
import { insertShadowDifference } from "../db/shadow.ts";
import { decode, encode, IngressEnvelope, type RoutedEnvelope } from "../nats/envelope.ts";
import { publishReclassified } from "../nats/reclassified.ts";
import { runConsumerLoops, type ConsumerLoops } from "../nats/ordered-consumer.ts";
import type { Delivery } from "../nats/pull.ts";
import { partitionOf, type Topology } from "../nats/topology.ts";
import { contextFrom, counters, inSpan, traceHeaders } from "../telemetry/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { createDecider, evaluateSafely, type Decider } from "./decide.ts";

export interface RouterDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  nc: NatsConnection;
  topo: Topology;
  /** The active policy; read per batch of decisions, so a new version applies at once. */
  policy: () => Policy;
  /** A candidate run beside the active policy: differences are recorded, never acted on. */
  shadow: () => Policy | null;
  log: Logger;
}

export function startRouter(deps: RouterDeps): ConsumerLoops {
  const { topo } = deps;
  const names = Array.from({ length: topo.partitions }, (_, p) => topo.routerConsumer(p));
  const decider = createDecider(deps.pool, deps.policy, topo.partitions);
  return runConsumerLoops(
    deps.nc,
    topo.streams.ingress,
    names,
    (msg) => routeOne(deps, decider, msg),
    deps.log,
  );
}

async function routeOne(deps: RouterDeps, decider: Decider, msg: Delivery): Promise<void> {
  const { js, topo, log } = deps;
  let envelope: IngressEnvelope;
  try {
    envelope = decode(IngressEnvelope, msg.data);
  } catch (error) {
    // Only the broker publishes to INGRESS; an unreadable message is kept in the DLQ, not retried.
    // Not the error itself: a JSON parse error can quote the start of the message text.
    log.error(
      { seq: msg.seq, subject: msg.subject, error: (error as Error).name },
      "unreadable INGRESS message dead-lettered",
    );
    await js.publish(topo.dlqSubject(0), msg.data, { msgID: `ingress-${msg.seq}` });
    msg.term(); // no reason: nats-server 2.9 ignores "+TERM <reason>"
    return;
  }
  const { message } = envelope;
  await inSpan(
    "watershed.route",
    contextFrom(msg.headers),
    async (span) => {
      const { decision, input, turnedSensitive } = await decider.decide(message);
      span.setAttribute("watershed.zone", decision.zone);
      span.setAttribute("watershed.policy_version", decision.policyVersion);
      const routed: RoutedEnvelope = { message, decision, ingressSeq: msg.seq };
      const partition = partitionOf(message.conversationId, topo.partitions);
      const data = encode(routed);
      // Both at once: each stream keeps this partition's order, since the next message of the
      // partition is delivered only after this one is acknowledged, after both publishes.
      const headers = traceHeaders();
      await Promise.all([
        js.publish(topo.onpremSubject(partition), data, { msgID: message.id, headers }),
        decision.zone === "cloud"
          ? js.publish(topo.relaySubject(partition), data, { msgID: message.id, headers })
          : null,
        turnedSensitive
          ? publishReclassified(js, topo, {
              conversationId: message.conversationId,
              cause: decision.id,
              retract: decision.actions.includes("retract"),
            })
          : null,
      ]);
      msg.ack();
      counters.routed.add(1, { zone: decision.zone });
      if (input && decision.actions.includes("notify")) notifySender(deps, message.sender.id, decision);
      if (input) await recordShadow(deps, input, decision);
      log.debug(
        {
          messageId: message.id,
          conversationId: message.conversationId,
          zone: decision.zone,
          rules: decision.rules,
        },
        "routed",
      );
    },
    { "watershed.message_id": message.id, "watershed.conversation_id": message.conversationId },
  );
}

/**
 * Tells on-prem clients that a rule asked to notify the sender (core NATS, best effort: the
 * decision and its reason are also at GET /v1/messages/{id}). Only on the first decision.
 */
function notifySender(deps: RouterDeps, senderId: string, decision: RoutingDecision): void {
  const notice = {
    messageId: decision.messageId,
    conversationId: decision.conversationId,
    senderId,
    zone: decision.zone,
    rules: decision.rules,
    reason: decision.reason,
    detections: decision.detections.map((d) => d.type),
  };
  try {
    deps.nc.publish(deps.topo.noticeSubject, encode(notice));
  } catch (error) {
    deps.log.warn({ err: error, messageId: decision.messageId }, "notice not published");
  }
}

/** Evaluates the shadow candidate on what the active policy saw; only differences are stored. */
async function recordShadow(
  deps: RouterDeps,
  input: EvaluationInput,
  active: RoutingDecision,
): Promise<void> {
  const shadow = deps.shadow();
  if (!shadow || shadow.version === active.policyVersion) return;
  try {
    const result = evaluateSafely(shadow, input);
    const zone = !result.ok || result.verdict.sensitive ? "onprem" : "cloud";
    const rules = result.ok ? result.verdict.rules : ["fail-closed:evaluation-error"];
    if (zone !== active.zone)
      await insertShadowDifference(deps.pool, active, { version: shadow.version, zone, rules });
  } catch (error) {
    deps.log.warn({ err: error, messageId: active.messageId }, "shadow evaluation not recorded");
  }
}
