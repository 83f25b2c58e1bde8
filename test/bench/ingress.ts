// Publishing straight to INGRESS what intake would publish (broker/ingress/accept.ts): the canonical
// message, checked by the model, in an `{message}` envelope, with its id as the JetStream msgID, to
// its conversation's partition subject, with the trace headers. This skips HTTP, the JWT and the
// membership check: what a trusted on-prem NATS client of the broker costs it.
import type { JetStreamClient } from "@nats-io/jetstream";
import { uuidv7 } from "uuidv7";
import { encode, type IngressEnvelope } from "../../broker/nats/envelope.ts";
import { partitionOf, topology, type Topology } from "../../broker/nats/topology.ts";
import { traceHeaders } from "../../broker/telemetry/index.ts";
import { Message } from "../../policies/model.ts";
import { testMessage } from "../helpers/messages.ts";

export interface IngressPublisher {
  /** Publishes one message; resolves with its id and `acceptedAt` once JetStream acknowledged it. */
  publish(conversationId: string, text: string): Promise<{ id: string; acceptedAtMs: number }>;
}

export function ingressPublisher(
  js: JetStreamClient,
  prefix: string,
  partitions: number,
  senderId: string,
): IngressPublisher {
  const topo: Topology = topology(prefix, partitions);
  // The principal's fields as intake copies them from a token without roles, groups or department.
  const sender = { id: senderId, roles: [], groups: [], department: null };
  return {
    async publish(conversationId, text) {
      const id = uuidv7();
      const acceptedAtMs = Date.now();
      // As intake: every field set, then checked by the model before it is published.
      const message = Message.parse(
        testMessage({ id, conversationId, sender, text, acceptedAt: new Date(acceptedAtMs).toISOString() }),
      );
      const envelope: IngressEnvelope = { message };
      await js.publish(topo.ingressSubject(partitionOf(conversationId, partitions)), encode(envelope), {
        msgID: id,
        headers: traceHeaders(),
      });
      return { id, acceptedAtMs };
    },
  };
}
