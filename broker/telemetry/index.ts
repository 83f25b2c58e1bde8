// Telemetry through @opentelemetry/api only: spans, metrics, and trace context carried in
// NATS headers so one trace follows a message end to end. The SDK is wired in the entry point.
import { context, metrics, propagation, trace, type Context, type Span } from "@opentelemetry/api";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";

export const tracer = trace.getTracer("watershed");
const meter = metrics.getMeter("watershed");

export const counters = {
  accepted: meter.createCounter("watershed.messages.accepted", {
    description: "Messages accepted at ingress",
  }),
  routed: meter.createCounter("watershed.messages.routed", { description: "Messages routed, by zone" }),
  stored: meter.createCounter("watershed.messages.stored", { description: "Messages written to PostgreSQL" }),
  relayed: meter.createCounter("watershed.messages.relayed", {
    description: "Messages delivered to a connector",
  }),
  deadLettered: meter.createCounter("watershed.messages.dead_lettered", {
    description: "Messages sent to the DLQ",
  }),
};

/** NATS headers holding the active trace context (traceparent, tracestate). */
export function traceHeaders(ctx: Context = context.active()): MsgHdrs {
  const h = natsHeaders();
  propagation.inject(ctx, h, { set: (carrier, key, value) => carrier.set(key, value) });
  return h;
}

export function contextFrom(h: MsgHdrs | undefined): Context {
  if (!h) return context.active();
  return propagation.extract(context.active(), h, {
    get: (carrier, key) => (carrier.has(key) ? carrier.get(key) : undefined),
    keys: (carrier) => carrier.keys(),
  });
}

/** Runs `work` in a span under `parent`, recording an exception and ending the span either way. */
export async function inSpan<T>(
  name: string,
  parent: Context,
  work: (span: Span) => Promise<T>,
  attributes: Record<string, string | number | boolean> = {},
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: 2 });
      throw error;
    } finally {
      span.end();
    }
  });
}
