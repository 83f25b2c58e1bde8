// Telling the relay that a conversation turned sensitive: one RELAY entry per turn, deduplicated.
import type { JetStreamClient } from "@nats-io/jetstream";
import { encode, type ReclassifiedEnvelope } from "./envelope.ts";
import { partitionOf, type Topology } from "./topology.ts";

export async function publishReclassified(
  js: JetStreamClient,
  topo: Topology,
  reclassified: ReclassifiedEnvelope["reclassified"],
): Promise<void> {
  const partition = partitionOf(reclassified.conversationId, topo.partitions);
  const entry: ReclassifiedEnvelope = { reclassified };
  // The cause names the turn: a redelivery, or a retried PATCH, publishes it once.
  await js.publish(topo.relaySubject(partition), encode(entry), {
    msgID: `reclassified:${reclassified.conversationId}:${reclassified.cause}`,
  });
}
