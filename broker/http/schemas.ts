// Request bodies and parameters of API v1. Unknown fields are refused (strict objects).
import { z } from "zod";
import {
  Binding,
  ConversationId,
  Label,
  Member,
  MessageId,
  MessageKindSchema,
  StoredText,
} from "../../policies/model.ts";

export const CreateConversationBody = z.strictObject({
  title: StoredText.check(z.maxLength(256)).default(""),
  labels: z.array(Label).max(64).default([]),
  /** The caller is always added as a member. */
  members: z.array(Member).max(10_000).default([]),
  externalParticipants: z.boolean().default(false),
});

export const PatchConversationBody = z
  .strictObject({
    title: StoredText.check(z.maxLength(256)).optional(),
    labels: z.array(Label).max(64).optional(),
    members: z.array(Member).min(1).max(10_000).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "at least one of title, labels, members is required");

/** The whole set of a conversation's cloud channels; an empty list unbinds it everywhere. */
export const PutBindingsBody = z.strictObject({
  bindings: z.array(Binding).max(16),
});

export const PostMessageBody = z
  .strictObject({
    text: StoredText,
    clientMsgId: StoredText.check(z.minLength(1), z.maxLength(128)).optional(),
    replyTo: MessageId.optional(),
    kind: MessageKindSchema.default("message"),
    /** The message an edit, delete or reaction applies to. */
    targetId: MessageId.optional(),
    /** Files uploaded to this conversation (POST …/files), shared with a message. */
    attachments: z.array(z.uuid()).max(32).optional(),
  })
  .superRefine((body, ctx) => {
    const needsTarget = body.kind !== "message";
    if (needsTarget && body.targetId === undefined) {
      ctx.addIssue({ code: "custom", path: ["targetId"], message: `required when kind is '${body.kind}'` });
    }
    if (!needsTarget && body.targetId !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["targetId"],
        message: "only allowed for edit, delete and reaction",
      });
    }
    const files = body.attachments?.length ?? 0;
    if (files !== new Set(body.attachments).size) {
      ctx.addIssue({ code: "custom", path: ["attachments"], message: "must not name a file twice" });
    }
    if (files > 0 && body.kind !== "message") {
      ctx.addIssue({ code: "custom", path: ["attachments"], message: "only a message has attachments" });
    }
    if (((body.kind === "message" && files === 0) || body.kind === "edit") && body.text.length === 0) {
      ctx.addIssue({ code: "custom", path: ["text"], message: "must not be empty" });
    }
  });

export const ConversationParams = z.strictObject({ id: ConversationId });
export const MessageParams = z.strictObject({ id: z.uuid() });

export const HistoryQuery = z.strictObject({
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).optional(),
});

export const FileParams = z.strictObject({ id: z.uuid() });

/** Upload parameters: the file's name travels in the query, the bytes are the body. */
export const UploadQuery = z.strictObject({
  name: StoredText.check(z.minLength(1), z.maxLength(255)).optional(),
});
