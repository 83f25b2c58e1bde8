// Dead letters for tests, published straight to a DLQ stream as the relay would.
import { randomUUID } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { uuidv7 } from "uuidv7";
import { encode, type DeadLetter } from "../../broker/nats/envelope.ts";
import { partitionOf, type Topology } from "../../broker/nats/topology.ts";

export interface SampleLetter {
  conversationId?: string;
  connector?: string;
  text?: string;
  reason?: string;
}

export function sampleDeadLetter(options: SampleLetter = {}): DeadLetter {
  const id = uuidv7();
  const conversationId = options.conversationId ?? randomUUID();
  const now = new Date().toISOString();
  return {
    envelope: {
      message: {
        id,
        conversationId,
        sender: { id: "alice", roles: [], groups: [], department: null },
        kind: "message",
        text: options.text ?? `dead letter ${id}`,
        replyTo: null,
        targetId: null,
        attachments: [],
        clientMsgId: null,
        acceptedAt: now,
      },
      decision: {
        id: randomUUID(),
        messageId: id,
        conversationId,
        zone: "cloud",
        sensitive: false,
        policyVersion: "test-1",
        rules: [],
        reason: null,
        detections: [],
        actions: [],
        decidedAt: now,
      },
      ingressSeq: 1,
    },
    connector: options.connector ?? "webhook",
    reason: options.reason ?? "webhook answered 400",
    attempts: 1,
    failedAt: now,
  };
}

/** Publishes `letter` to the DLQ the way the relay does; resolves to its DLQ seq. */
export async function publishDeadLetter(
  js: JetStreamClient,
  topo: Topology,
  letter: DeadLetter,
): Promise<number> {
  const { message } = letter.envelope;
  const partition = partitionOf(message.conversationId, topo.partitions);
  const ack = await js.publish(topo.dlqSubject(partition), encode(letter), {
    msgID: `${message.id}:${letter.connector}`,
  });
  return ack.seq;
}

/** Publishes bytes that are not a DeadLetter to the DLQ; resolves to their seq. */
export async function publishUnreadable(js: JetStreamClient, topo: Topology): Promise<number> {
  const ack = await js.publish(topo.dlqSubject(0), new TextEncoder().encode('{"not": "a dead letter"'));
  return ack.seq;
}

/** A conversation id whose messages go to `partition`. */
export function conversationInPartition(partition: number, partitions: number): string {
  for (;;) {
    const id = randomUUID();
    if (partitionOf(id, partitions) === partition) return id;
  }
}
