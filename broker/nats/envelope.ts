// What travels in each stream: the canonical message, and after routing, its decision.
import { z } from "zod";
import { Message, RoutingDecision } from "../../policies/model.ts";

export const IngressEnvelope = z.strictObject({ message: Message });
export type IngressEnvelope = z.infer<typeof IngressEnvelope>;

export const RoutedEnvelope = z.strictObject({
  message: Message,
  decision: RoutingDecision,
  /** INGRESS sequence: the acceptance order kept in history. */
  ingressSeq: z.number().int().positive(),
});
export type RoutedEnvelope = z.infer<typeof RoutedEnvelope>;

/**
 * Put on RELAY, in the conversation's partition, when a conversation turns sensitive: the relay
 * posts the "continues on-prem" notice to its cloud channels and, with `retract`, deletes what
 * the conversation has in the cloud. Behind every message relayed before it, in order.
 */
export const ReclassifiedEnvelope = z.strictObject({
  reclassified: z.strictObject({
    conversationId: z.uuid(),
    /** The decision (or attribute change) that turned it; names the notice, once per turn. */
    cause: z.string().min(1),
    retract: z.boolean(),
  }),
});
export type ReclassifiedEnvelope = z.infer<typeof ReclassifiedEnvelope>;

/** What the relay reads from RELAY. */
export const RelayEntry = z.union([RoutedEnvelope, ReclassifiedEnvelope]);
export type RelayEntry = z.infer<typeof RelayEntry>;

export const DeadLetter = z.strictObject({
  envelope: RoutedEnvelope,
  connector: z.string(),
  reason: z.string(),
  attempts: z.number().int(),
  failedAt: z.iso.datetime(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decode<T>(schema: z.ZodType<T>, data: Uint8Array): T {
  return schema.parse(JSON.parse(decoder.decode(data)));
}
