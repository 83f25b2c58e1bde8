// Accepting a message: authorise, build the canonical message, and publish it durably to INGRESS.
// The 202 goes back only after JetStream acknowledged the publish.
import { createHash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { context } from "@opentelemetry/api";
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import { Message, type MessageKind } from "../../policies/model.ts";
import type { Principal } from "../auth/index.ts";
import { claimClientMessageId } from "../db/client-ids.ts";
import { createBatcher } from "../db/batcher.ts";
import { selectMemberships, type Membership } from "../db/conversations.ts";
import { selectFileConversations } from "../db/files.ts";
import { selectMessageOwners } from "../db/messages.ts";
import { ProblemError, ProblemType } from "../http/problems.ts";
import { encode, type IngressEnvelope } from "../nats/envelope.ts";
import { partitionOf, type Topology } from "../nats/topology.ts";
import { counters, inSpan, traceHeaders } from "../telemetry/index.ts";

export interface IngressDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  topo: Topology;
  maxTextBytes: number;
  /** Whether the sender is a member, checked with the other requests in flight in one statement. */
  membership: (check: { conversationId: string; principalId: string }) => Promise<Membership>;
}

export function ingressDeps(deps: Omit<IngressDeps, "membership">): IngressDeps {
  return { ...deps, membership: createBatcher((checks) => selectMemberships(deps.pool, checks)) };
}

export interface MessageRequest {
  text: string;
  kind: MessageKind;
  clientMsgId: string | null;
  replyTo: string | null;
  targetId: string | null;
  /** Ids of files of this conversation shared with the message. */
  attachments: readonly string[];
}

/** What makes two requests "the same message" for idempotency; never stored in clear. */
function requestHash(request: MessageRequest): string {
  const { text, kind, replyTo, targetId, attachments } = request;
  // Attachments join the hash only when there are some, so hashes recorded before they existed still match.
  const parts =
    attachments.length === 0 ? [text, kind, replyTo, targetId] : [text, kind, replyTo, targetId, attachments];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/**
 * A reply and its parent, and an edit, delete or reaction and its target, are in the same
 * conversation; only a message's author edits or deletes it, and only messages are targets. A
 * target not stored yet (the store runs a moment behind intake) is a 409 to retry.
 */
async function checkTargets(
  pool: pg.Pool,
  senderId: string,
  conversationId: string,
  request: MessageRequest,
): Promise<void> {
  const named = [request.replyTo, request.targetId].filter((id): id is string => id !== null);
  if (named.length === 0) return;
  const owners = await selectMessageOwners(pool, named);
  for (const [field, id] of [
    ["replyTo", request.replyTo],
    ["targetId", request.targetId],
  ] as const) {
    if (id === null) continue;
    const owner = owners.get(id);
    if (!owner) throw new ProblemError(ProblemType.targetNotStored, `${field} ${id} is not stored (yet)`);
    if (owner.conversationId !== conversationId || owner.kind !== "message") {
      throw new ProblemError(ProblemType.invalidTarget, `${field} must name a message of this conversation`);
    }
    const authorOnly = field === "targetId" && (request.kind === "edit" || request.kind === "delete");
    if (authorOnly && owner.senderId !== senderId) {
      throw new ProblemError(ProblemType.invalidTarget, `only its author may ${request.kind} a message`);
    }
  }
}

/** Every attachment is a stored file of this conversation: a file id from another one is refused. */
async function checkAttachments(
  pool: pg.Pool,
  conversationId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const found = await selectFileConversations(pool, ids);
  for (const id of ids) {
    if (found.get(id) !== conversationId) {
      throw new ProblemError(
        ProblemType.invalidAttachment,
        `attachment ${id} is not a file of this conversation`,
      );
    }
  }
}

export interface AcceptOptions {
  /**
   * Set for a message that arrives through a connector: the channel binding, not membership,
   * admits its author, and `beforePublish` records the cloud ids before INGRESS has it.
   */
  inbound?: { beforePublish: (message: Message) => Promise<void> };
}

export async function acceptMessage(
  deps: IngressDeps,
  sender: Principal,
  conversationId: string,
  request: MessageRequest,
  options: AcceptOptions = {},
): Promise<{ id: string }> {
  const textBytes = Buffer.byteLength(request.text, "utf8");
  if (textBytes > deps.maxTextBytes) {
    throw new ProblemError(
      ProblemType.textTooLong,
      `text is ${textBytes} bytes; the limit is ${deps.maxTextBytes} bytes`,
    );
  }
  // Not the whole conversation: a member list can be long, and this runs for every message.
  const membership = await deps.membership({ conversationId, principalId: sender.id });
  if (membership === "no-conversation") throw new ProblemError(ProblemType.conversationNotFound);
  if (membership === "not-member" && !options.inbound) throw new ProblemError(ProblemType.notMember);
  // An inbound event's targets come from the id mapping, already limited to this conversation.
  if (!options.inbound) await checkTargets(deps.pool, sender.id, conversationId, request);
  await checkAttachments(deps.pool, conversationId, request.attachments);

  let id = uuidv7();
  if (request.clientMsgId !== null) {
    const hash = requestHash(request);
    const claim = await claimClientMessageId(
      deps.pool,
      { conversationId, senderId: sender.id, clientMsgId: request.clientMsgId },
      id,
      hash,
    );
    if (!claim.claimed && claim.requestHash !== hash) {
      throw new ProblemError(ProblemType.clientMsgIdConflict);
    }
    // A retry republishes under the first id: JetStream's duplicate window drops it if the
    // first publish landed, and it lands now if the first one never did.
    id = claim.messageId;
  }

  const candidate: Message = {
    id,
    conversationId,
    sender: { id: sender.id, roles: sender.roles, groups: sender.groups, department: sender.department },
    kind: request.kind,
    text: request.text,
    replyTo: request.replyTo,
    targetId: request.targetId,
    attachments: [...request.attachments],
    clientMsgId: request.clientMsgId,
    acceptedAt: new Date().toISOString(),
  };
  // What the router will read back must parse: anything else is refused here, not dropped there.
  const parsed = Message.safeParse(candidate);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ProblemError(
      ProblemType.invalidBody,
      `${first?.path.join(".") || "message"}: ${first?.message ?? "invalid"}`,
    );
  }
  const message = parsed.data;
  await options.inbound?.beforePublish(message);
  const envelope: IngressEnvelope = { message };
  const partition = partitionOf(conversationId, deps.topo.partitions);
  // The trace starts here and travels in NATS headers through routing, storing and relaying.
  await inSpan(
    "watershed.accept",
    context.active(),
    async () => {
      try {
        await deps.js.publish(deps.topo.ingressSubject(partition), encode(envelope), {
          msgID: id,
          headers: traceHeaders(),
        });
      } catch (error) {
        // INGRESS is full (discard: new): back-pressure instead of an unbounded backlog.
        if (/maximum (messages|bytes)/i.test(String((error as Error).message))) {
          throw new ProblemError(
            ProblemType.backlogFull,
            "the routing backlog is full; retry with the same clientMsgId",
          );
        }
        throw error;
      }
    },
    { "watershed.message_id": id, "watershed.conversation_id": conversationId },
  );
  counters.accepted.add(1);
  return { id };
}
