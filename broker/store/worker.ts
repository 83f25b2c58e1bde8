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

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the row, not the server. */
function refusedData(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
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
        msg.term(); // no reason: nats-server 2.9 ignores "+TERM <reason>"
      }
    }
    try {
      await insertMessages(deps.pool, rows);
      for (const msg of readable) msg.ack();
      counters.stored.add(rows.length);
    } catch (error) {
      if (refusedData(error)) {
        await writeOneByOne(rows, readable);
        return;
      }
      log.warn({ err: error, size: rows.length }, "store batch failed; will redeliver");
      for (const msg of readable) msg.nak(1000);
    }
  };

  // PostgreSQL refused a value, not the connection: find the row, so one cannot block all others.
  // A refused row is terminated and stays in the ONPREM stream for inspection.
  const writeOneByOne = async (rows: StoredMessage[], msgs: JsMsg[]) => {
    for (const [index, row] of rows.entries()) {
      const msg = msgs[index] as JsMsg;
      try {
        await insertMessages(deps.pool, [row]);
        msg.ack();
        counters.stored.add(1);
      } catch (error) {
        if (!refusedData(error)) {
          msg.nak(1000);
          continue;
        }
        log.error(
          { messageId: row.message.id, seq: msg.seq, code: (error as { code?: string }).code },
          "PostgreSQL refused a message; terminated, it stays in the ONPREM stream",
        );
        msg.term(); // no reason: nats-server 2.9 ignores "+TERM <reason>"
      }
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
