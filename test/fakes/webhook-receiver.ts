// A real HTTP endpoint that receives Watershed's signed webhook deliveries, the way a receiver
// following the contract would: it verifies the signature, dedups by idempotency key and can fail on cue.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { verifyWebhookSignature } from "../../connectors/index.ts";
import { Binding, Message } from "../../policies/model.ts";

const MAX_BODY_BYTES = 1024 * 1024;
const Delivery = z.strictObject({ message: Message, binding: Binding.nullable() });

export interface WebhookReceiverOptions {
  /** The secret deliveries must be signed with. */
  secret: string;
  /** Answer the first N correctly signed requests with `failStatus`. @default 0 */
  failFirst?: number;
  /** The status `failFirst` answers with. @default 503 */
  failStatus?: number;
  /** The status for the n-th correctly signed request (1-based); overrides `failFirst`. */
  status?: (attempt: number) => number;
  /** Retry-After value sent with a 429; null sends none. @default "1" */
  retryAfter?: string | null;
  /** The receiver's clock in ms, for the timestamp check and `receivedAt`. @default Date.now */
  now?: () => number;
}

export interface WebhookDelivery {
  idempotencyKey: string;
  message: Message;
  binding: Binding | null;
  receivedAt: number;
}

export interface WebhookReceiver {
  /** Where to POST deliveries. */
  readonly url: string;
  /** Every accepted (2xx) delivery in arrival order, duplicates included. */
  readonly deliveries: WebhookDelivery[];
  /** Accepted messages deduplicated by idempotency key, in first-arrival order: what the cloud would show. */
  uniqueMessages(): Message[];
  /** Accepted deliveries, duplicates included. */
  rawCount(): number;
  /** Accepted deliveries whose idempotency key had been accepted before. */
  duplicates(): number;
  /** Correctly signed requests, whatever they were answered. */
  attempts(): number;
  /** Requests answered 401 for a missing, stale or wrong signature. */
  rejected(): number;
  /** Resolves once `predicate` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (receiver: WebhookReceiver) => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const now = options.now ?? Date.now;
  const failFirst = options.failFirst ?? 0;
  const failStatus = options.failStatus ?? 503;
  const statusFor = options.status ?? ((attempt: number) => (attempt <= failFirst ? failStatus : 200));
  const retryAfter = options.retryAfter === undefined ? "1" : options.retryAfter;

  const deliveries: WebhookDelivery[] = [];
  let attempts = 0;
  let rejected = 0;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const check of [...waiters]) check();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "POST") return reply(res, 405, { error: "method not allowed" });
    const raw = await readBody(req);
    if (raw === null) return reply(res, 413, { error: "body too large" });

    const ok = verifyWebhookSignature(
      options.secret,
      header(req, "x-watershed-timestamp"),
      header(req, "x-watershed-signature"),
      raw,
      now(),
    );
    if (!ok) {
      rejected += 1;
      return reply(res, 401, { error: "invalid signature" });
    }

    attempts += 1;
    const status = statusFor(attempts);
    if (status < 200 || status >= 300) {
      const headers: Record<string, string> =
        status === 429 && retryAfter !== null ? { "retry-after": retryAfter } : {};
      return reply(res, status, { error: `failing on purpose (attempt ${attempts})` }, headers);
    }

    const idempotencyKey = header(req, "idempotency-key");
    if (idempotencyKey === undefined) return reply(res, 400, { error: "missing idempotency-key" });
    let parsed: z.infer<typeof Delivery>;
    try {
      parsed = Delivery.parse(JSON.parse(raw.toString("utf8")));
    } catch {
      return reply(res, 400, { error: "body is not a valid delivery" });
    }

    deliveries.push({ idempotencyKey, message: parsed.message, binding: parsed.binding, receivedAt: now() });
    // Stable per key, as an idempotent API answers a replay with the original resource.
    return reply(res, status, status === 204 ? null : { id: `wh_${idempotencyKey}` });
  };

  const server = createServer((req, res) => {
    handle(req, res)
      .catch(() => reply(res, 500, { error: "receiver failed" }))
      .finally(notify);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks/watershed`,
    deliveries,
    uniqueMessages() {
      const seen = new Set<string>();
      const unique: Message[] = [];
      for (const delivery of deliveries) {
        if (seen.has(delivery.idempotencyKey)) continue;
        seen.add(delivery.idempotencyKey);
        unique.push(delivery.message);
      }
      return unique;
    },
    rawCount: () => deliveries.length,
    duplicates: () => deliveries.length - new Set(deliveries.map((d) => d.idempotencyKey)).size,
    attempts: () => attempts,
    rejected: () => rejected,
    waitFor(predicate, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = (): void => {
          try {
            if (!predicate(receiver)) return;
            done();
            resolve();
          } catch (err) {
            done();
            reject(err);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `webhook receiver: condition not met within ${timeoutMs} ms ` +
                `(${deliveries.length} accepted, ${attempts} signed attempts, ${rejected} rejected)`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // Keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
  return receiver;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The whole body, or null once it passes MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > MAX_BODY_BYTES) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  if (body === null) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { ...headers, "content-type": "application/json" }).end(JSON.stringify(body));
}
