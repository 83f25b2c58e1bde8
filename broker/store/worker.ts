// The store worker: ONPREM -> PostgreSQL in batches, acknowledging only after the commit,
// so history is complete even when the router outruns it.
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type pg from "pg";
import { insertMessages, type StoredMessage } from "../db/messages.ts";
import { decode, RoutedEnvelope } from "../nats/envelope.ts";
import type { Topology } from "../nats/topology.ts";
import { counters } from "../telemetry/index.ts";
import type { Logger } from "../telemetry/log.ts";

export interface StoreDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  topo: Topology;
  log: Logger;
  /** Largest batch written in one statement. @default 500 */
  maxBatch?: number;
}

export interface StoreWorker {
  stop(): Promise<void>;
}

export function startStoreWorker(deps: StoreDeps): StoreWorker {
  const maxBatch = deps.maxBatch ?? 500;
  const { log } = deps;
  let pending: JsMsg[] = [];
  let flushing: Promise<void> | null = null;
  let stopping = false;

  // While one batch is being written, the next one fills; it is written as soon as the first commits.
  const scheduleFlush = () => {
    if (flushing || pending.length === 0) return;
    const batch = pending.splice(0, maxBatch);
    flushing = writeBatch(batch).finally(() => {
      flushing = null;
      if (!stopping) scheduleFlush();
    });
  };

  const writeBatch = async (batch: JsMsg[]) => {
    const rows: StoredMessage[] = [];
    const readable: JsMsg[] = [];
    for (const msg of batch) {
      try {
        const envelope = decode(RoutedEnvelope, msg.data);
        rows.push({ message: envelope.message, ingressSeq: envelope.ingressSeq });
        readable.push(msg);
      } catch (error) {
        // Not the error itself: a JSON parse error can quote the start of the message text.
        log.error(
          { seq: msg.seq, error: (error as Error).name },
          "unreadable ONPREM message terminated; it stays in the stream",
        );
        msg.term("unreadable");
      }
    }
    try {
      await insertMessages(deps.pool, rows);
      for (const msg of readable) msg.ack();
      counters.stored.add(rows.length);
    } catch (error) {
      log.warn({ err: error, size: rows.length }, "store batch failed; will redeliver");
      for (const msg of readable) msg.nak(1000);
    }
  };

  let consumerMessages: { stop(): void; closed(): Promise<void | Error> } | null = null;
  const run = async () => {
    while (!stopping) {
      try {
        const consumer = await deps.js.consumers.get(deps.topo.streams.onprem, deps.topo.storeConsumer);
        const messages = await consumer.consume({ max_messages: maxBatch * 2 });
        consumerMessages = messages;
        // stop() may have run while consume() was starting: it found nothing to stop.
        if (stopping) messages.stop();
        for await (const msg of messages) {
          pending.push(msg);
          if (pending.length >= maxBatch) scheduleFlush();
          else queueMicrotask(scheduleFlush);
          // Back-pressure: do not pull more while a full batch waits behind a slow write.
          while (pending.length >= maxBatch * 2 && flushing) await flushing;
        }
      } catch (error) {
        if (stopping) break;
        log.warn({ err: error }, "store consumer failed; restarting");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  const running = run();

  return {
    async stop() {
      stopping = true;
      consumerMessages?.stop();
      await running;
      while (flushing) await flushing;
      // Messages fetched but not written stay unacknowledged and are redelivered to another worker.
      pending = [];
    },
  };
}
