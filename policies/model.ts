// The canonical message model: zod schemas and the types inferred from them.
// A leaf module: it imports nothing of the project, so the broker, the policy
// engine and the connectors can all share it without arrows pointing back.
import { z } from "zod";

/**
 * Text that PostgreSQL can store: no NUL character (it refuses them in text columns). Every
 * string that reaches the database goes through this, so such input is refused at the edge
 * instead of wedging a batch later.
 */
export const StoredText = z
  .string()
  .refine((value) => !value.includes("\u0000"), "must not contain NUL characters");

/** A broker-assigned message id: a UUIDv7, so ids sort roughly by acceptance time. */
export const MessageId = z.uuid({ version: "v7" });
export const ConversationId = z.uuid();
/** An identity as the token's `sub` carries it. */
export const PrincipalId = StoredText.check(z.minLength(1), z.maxLength(256));
export const Label = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, "lower-case letters, digits, '_', '.', '-'");

export const Member = z.strictObject({
  id: PrincipalId,
});
export type Member = z.infer<typeof Member>;

/** Where a conversation is mirrored in a cloud IM. */
export const Binding = z.strictObject({
  connector: StoredText.check(z.minLength(1), z.maxLength(64)),
  channel: StoredText.check(z.minLength(1), z.maxLength(256)),
});
export type Binding = z.infer<typeof Binding>;

/** The sticky sensitivity state; `sensitive` never goes back to false without a declassification. */
export const Sensitivity = z.strictObject({
  sensitive: z.boolean(),
  since: z.iso.datetime().nullable(),
  reason: z.string().nullable(),
  decisionId: z.uuid().nullable(),
});
export type Sensitivity = z.infer<typeof Sensitivity>;

export const Conversation = z.strictObject({
  id: ConversationId,
  title: StoredText.check(z.maxLength(256)),
  labels: z.array(Label).max(64),
  members: z.array(Member).max(10_000),
  externalParticipants: z.boolean(),
  bindings: z.array(Binding).max(16),
  sensitivity: Sensitivity,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Conversation = z.infer<typeof Conversation>;

/** The sender as the token describes them; policies may match on roles, groups and department. */
export const Sender = z.strictObject({
  id: PrincipalId,
  roles: z.array(StoredText).default([]),
  groups: z.array(StoredText).default([]),
  department: StoredText.nullable().default(null),
});
export type Sender = z.infer<typeof Sender>;

export const MessageKind = {
  message: "message",
  edit: "edit",
  delete: "delete",
  reaction: "reaction",
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];
export const MessageKindSchema = z.enum(MessageKind);

export const Message = z.strictObject({
  id: MessageId,
  conversationId: ConversationId,
  sender: Sender,
  kind: MessageKindSchema,
  /** Body text; for a reaction, the reaction's name; empty for a delete. */
  text: StoredText,
  /** The message this one replies to (its thread). */
  replyTo: MessageId.nullable(),
  /** The message an edit, delete or reaction applies to. */
  targetId: MessageId.nullable(),
  attachments: z.array(z.uuid()).max(32),
  clientMsgId: StoredText.check(z.minLength(1), z.maxLength(128)).nullable(),
  acceptedAt: z.iso.datetime(),
});
export type Message = z.infer<typeof Message>;

export const Zone = { onprem: "onprem", cloud: "cloud" } as const;
export type Zone = (typeof Zone)[keyof typeof Zone];

/** Where a detector fired: type and offsets only, never the matched text. */
export const Detection = z.strictObject({
  type: z.string(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  confidence: z.number().min(0).max(1),
});
export type Detection = z.infer<typeof Detection>;

export const RoutingDecision = z.strictObject({
  id: z.uuid(),
  messageId: MessageId,
  conversationId: ConversationId,
  zone: z.enum(Zone),
  sensitive: z.boolean(),
  policyVersion: z.string(),
  rules: z.array(z.string()),
  /** The reason shown to users when the message stays on-prem. */
  reason: z.string().nullable(),
  detections: z.array(Detection),
  /**
   * What the deciding rules asked for: notify the sender, redact when relaying, block, retract
   * from the cloud what the conversation has there when it turns sensitive.
   */
  actions: z.array(z.enum(["notify", "redact", "block", "retract"])).default([]),
  decidedAt: z.iso.datetime(),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;
