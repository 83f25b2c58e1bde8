// One NATS connection per process, with JetStream client and manager.
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface Nats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function connectNats(servers: string[], name: string): Promise<Nats> {
  const nc = await connect({
    servers,
    name,
    // Keep trying for ever: a NATS restart must not end the broker.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // Async stack traces cost an Error per request on the hot path; errors still name the subject.
    noAsyncTraces: true,
  });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const js = jetstream(nc, { timeout: 10_000 });
  return { nc, js, jsm };
}
