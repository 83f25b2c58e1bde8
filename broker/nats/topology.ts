// Stream and consumer names, subjects, and their explicit settings, created or updated at start.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

export interface Topology {
  prefix: string;
  partitions: number;
  streams: { ingress: string; onprem: string; relay: string; dlq: string };
  ingressSubject(partition: number): string;
  onpremSubject(partition: number): string;
  relaySubject(partition: number): string;
  dlqSubject(partition: number): string;
  routerConsumer(partition: number): string;
  relayConsumer(partition: number): string;
  storeConsumer: string;
  /** Core NATS subject of notices to senders (a `notify` action). */
  noticeSubject: string;
}

export function topology(prefix: string, partitions: number): Topology {
  const upper = prefix.toUpperCase();
  return {
    prefix,
    partitions,
    streams: {
      ingress: `${upper}_INGRESS`,
      onprem: `${upper}_ONPREM`,
      relay: `${upper}_RELAY`,
      dlq: `${upper}_DLQ`,
    },
    ingressSubject: (p) => `${prefix}.ingress.${p}`,
    onpremSubject: (p) => `${prefix}.onprem.${p}`,
    relaySubject: (p) => `${prefix}.relay.${p}`,
    dlqSubject: (p) => `${prefix}.dlq.${p}`,
    routerConsumer: (p) => `router-${p}`,
    relayConsumer: (p) => `relay-${p}`,
    storeConsumer: "store",
    noticeSubject: `${prefix}.notices`,
  };
}

/** FNV-1a over the conversation id: stable across processes and versions. */
export function partitionOf(conversationId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < conversationId.length; i++) {
    hash ^= conversationId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

export interface TopologySettings {
  duplicateWindowMs: number;
  /** INGRESS holds at most this many messages; beyond, a publish is refused (back-pressure). */
  maxIngressBacklog: number;
  ackWaitMs: number;
  replicas: number;
}

const day = 24 * 60 * 60 * 1000;

export async function ensureTopology(
  jsm: JetStreamManager,
  topo: Topology,
  settings: TopologySettings,
): Promise<void> {
  const base = {
    storage: StorageType.File,
    num_replicas: settings.replicas,
    // A full stream must refuse new messages rather than drop acknowledged ones.
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: -1,
    max_msg_size: -1,
  } satisfies Partial<StreamConfig>;
  const twoMinutes = 2 * 60 * 1000;
  await checkPartitions(jsm, topo);
  await ensureStream(jsm, {
    ...base,
    name: topo.streams.ingress,
    description: partitionsDescription(topo.partitions),
    subjects: [`${topo.prefix}.ingress.*`],
    // Work queue: a message leaves INGRESS once the router has routed it.
    retention: RetentionPolicy.Workqueue,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_age: 0,
    max_msgs: settings.maxIngressBacklog,
  });
  await ensureStream(jsm, {
    ...base,
    name: topo.streams.onprem,
    subjects: [`${topo.prefix}.onprem.*`],
    // Limits retention so on-prem subscribers can read it beside the store worker.
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(twoMinutes),
    max_age: nanos(7 * day),
  });
  await ensureStream(jsm, {
    ...base,
    name: topo.streams.relay,
    subjects: [`${topo.prefix}.relay.*`],
    retention: RetentionPolicy.Workqueue,
    duplicate_window: nanos(twoMinutes),
    max_age: 0,
  });
  await ensureStream(jsm, {
    ...base,
    name: topo.streams.dlq,
    subjects: [`${topo.prefix}.dlq.*`],
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(twoMinutes),
    max_age: nanos(30 * day),
  });

  const ordered = (name: string, filter: string): Partial<ConsumerConfig> => ({
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    // One message in flight per partition, across every broker process: this is what keeps
    // per-conversation order and sticky sensitivity without a lock service.
    max_ack_pending: 1,
    max_deliver: -1,
  });
  for (let p = 0; p < topo.partitions; p++) {
    await ensureConsumer(jsm, topo.streams.ingress, ordered(topo.routerConsumer(p), topo.ingressSubject(p)));
    await ensureConsumer(jsm, topo.streams.relay, ordered(topo.relayConsumer(p), topo.relaySubject(p)));
  }
  await ensureConsumer(jsm, topo.streams.onprem, {
    durable_name: topo.storeConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: 10_000,
    max_deliver: -1,
  });
}

export class TopologyMismatchError extends Error {
  override name = "TopologyMismatchError";
}

function partitionsDescription(partitions: number): string {
  return `watershed partitions=${partitions}`;
}

/**
 * Two instances hashing conversations into different partition counts would route one
 * conversation through two partitions, breaking its order and its stickiness: refuse to start.
 * The count is kept in INGRESS's description (nats-server 2.9 has no stream metadata).
 */
async function checkPartitions(jsm: JetStreamManager, topo: Topology): Promise<void> {
  let description: string | undefined;
  try {
    description = (await jsm.streams.info(topo.streams.ingress)).config.description;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const recorded = /^watershed partitions=(\d+)$/.exec(description ?? "")?.[1];
  if (recorded !== undefined && Number(recorded) !== topo.partitions) {
    throw new TopologyMismatchError(
      `${topo.streams.ingress} is partitioned ${recorded} ways but nats.partitions is ${topo.partitions}: ` +
        `use ${recorded}, or stop intake, let INGRESS and RELAY drain and delete the streams first`,
    );
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>) {
  const name = config.durable_name as string;
  try {
    await jsm.consumers.info(stream, name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(stream, config);
    return;
  }
  const { durable_name: _durable, filter_subject: _filter, ...updatable } = config;
  await jsm.consumers.update(stream, name, updatable);
}

function isNotFound(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /not found/i.test(text);
}
