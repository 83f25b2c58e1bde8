// API v1 routes: conversations, messages, history.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { Policy } from "../../policies/index.ts";
import type { Connector } from "../../connectors/index.ts";
import type { Binding, Conversation } from "../../policies/model.ts";
import { ChannelAlreadyBoundError, replaceBindings } from "../db/bindings.ts";
import { inTransaction } from "../db/pool.ts";
import { publishReclassified } from "../nats/reclassified.ts";
import { applyConversationRules } from "../policy/attributes.ts";
import type { Principal } from "../auth/index.ts";
import { insertConversation, selectConversation, updateConversation } from "../db/conversations.ts";
import { selectHistory, selectMessage, type MessageWithDecision } from "../db/messages.ts";
import { acceptMessage, type IngressDeps } from "../ingress/accept.ts";
import { ProblemError, ProblemType } from "./problems.ts";
import {
  ConversationParams,
  CreateConversationBody,
  HistoryQuery,
  MessageParams,
  PatchConversationBody,
  PostMessageBody,
  PutBindingsBody,
} from "./schemas.ts";
import { parseBody, parseParams } from "./validate.ts";

export interface ApiDeps {
  pool: pg.Pool;
  /** The configured connectors: what a binding may name, and how they check a channel. */
  connectors: readonly Connector[];
  /** The active policy: a conversation its attributes make sensitive turns sensitive at once. */
  policy: () => Policy;
  ingress: IngressDeps;
  maxPageSize: number;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ProblemError(ProblemType.unauthenticated);
  return request.principal;
}

function requireMember(conversation: Conversation | null, principal: Principal): Conversation {
  if (!conversation) throw new ProblemError(ProblemType.conversationNotFound);
  if (!conversation.members.some((m) => m.id === principal.id)) throw new ProblemError(ProblemType.notMember);
  return conversation;
}

function messageView({ message, decision }: MessageWithDecision) {
  return {
    ...message,
    routing: decision && {
      zone: decision.zone,
      sensitive: decision.sensitive,
      policyVersion: decision.policyVersion,
      rules: decision.rules,
      reason: decision.reason,
      detections: decision.detections,
      actions: decision.actions,
      decidedAt: decision.decidedAt,
    },
  };
}

/** The same channel named twice is one binding. */
function uniqueBindings(bindings: readonly Binding[]): Binding[] {
  const seen = new Map<string, Binding>();
  for (const b of bindings) seen.set(JSON.stringify([b.connector, b.channel]), b);
  return [...seen.values()];
}

export function registerConversationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post("/v1/conversations", async (request, reply) => {
    const principal = principalOf(request);
    const body = parseBody(CreateConversationBody, request.body);
    const memberIds = [...new Set([principal.id, ...body.members.map((m) => m.id)])];
    const conversation = await inTransaction(deps.pool, async (client) => {
      const created = await insertConversation(client, {
        id: uuidv7(),
        title: body.title,
        labels: [...new Set(body.labels)],
        memberIds,
        externalParticipants: body.externalParticipants,
        createdBy: principal.id,
      });
      // Nothing of a new conversation is in the cloud yet: no notice to post.
      return (await applyConversationRules(client, deps.policy(), created)).conversation;
    });
    return reply.code(201).header("location", `/v1/conversations/${conversation.id}`).send(conversation);
  });

  app.get("/v1/conversations/:id", async (request) => {
    const principal = principalOf(request);
    const { id } = parseParams(ConversationParams, request.params);
    return requireMember(await selectConversation(deps.pool, id), principal);
  });

  app.patch("/v1/conversations/:id", async (request) => {
    const principal = principalOf(request);
    const { id } = parseParams(ConversationParams, request.params);
    const body = parseBody(PatchConversationBody, request.body);
    requireMember(await selectConversation(deps.pool, id), principal);
    const applied = await inTransaction(deps.pool, async (client) => {
      const updated = await updateConversation(client, id, {
        ...(body.title === undefined ? {} : { title: body.title }),
        ...(body.labels === undefined ? {} : { labels: [...new Set(body.labels)] }),
        ...(body.members === undefined ? {} : { memberIds: [...new Set(body.members.map((m) => m.id))] }),
      });
      if (!updated) throw new ProblemError(ProblemType.conversationNotFound);
      return applyConversationRules(client, deps.policy(), updated);
    });
    if (applied.turned) {
      // After the commit: the relay reads the flag. A lost publish leaves the flag set (nothing
      // more is relayed) and only the cloud notice missing; a retried PATCH does not publish again.
      await publishReclassified(deps.ingress.js, deps.ingress.topo, {
        conversationId: id,
        cause: `attributes:${applied.conversation.sensitivity.since}`,
        retract: applied.turned.retract,
      });
    }
    return applied.conversation;
  });

  app.put("/v1/conversations/:id/bindings", async (request) => {
    const principal = principalOf(request);
    const { id } = parseParams(ConversationParams, request.params);
    const body = parseBody(PutBindingsBody, request.body);
    requireMember(await selectConversation(deps.pool, id), principal);
    for (const [index, binding] of body.bindings.entries()) {
      const connector = deps.connectors.find((c) => c.kind === binding.connector);
      if (!connector) {
        const configured = deps.connectors.map((c) => c.kind).join(", ") || "none";
        throw new ProblemError(
          ProblemType.unknownConnector,
          `no connector '${binding.connector}' is configured (configured: ${configured})`,
        );
      }
      const problem = connector.channelProblem?.(binding.channel) ?? null;
      if (problem !== null) {
        throw new ProblemError(ProblemType.invalidBody, `bindings.${index}.channel: ${problem}`);
      }
    }
    const bindings = uniqueBindings(body.bindings);
    try {
      const updated = await inTransaction(deps.pool, (client) => replaceBindings(client, id, bindings));
      if (!updated) throw new ProblemError(ProblemType.conversationNotFound);
      return updated;
    } catch (error) {
      if (error instanceof ChannelAlreadyBoundError) {
        throw new ProblemError(ProblemType.channelAlreadyBound, error.message);
      }
      throw error;
    }
  });

  app.post("/v1/conversations/:id/messages", async (request, reply) => {
    const principal = principalOf(request);
    const { id } = parseParams(ConversationParams, request.params);
    const body = parseBody(PostMessageBody, request.body);
    const accepted = await acceptMessage(deps.ingress, principal, id, {
      text: body.text,
      kind: body.kind,
      clientMsgId: body.clientMsgId ?? null,
      replyTo: body.replyTo ?? null,
      targetId: body.targetId ?? null,
      attachments: body.attachments ?? [],
    });
    return reply.code(202).header("location", `/v1/messages/${accepted.id}`).send(accepted);
  });

  app.get("/v1/conversations/:id/messages", async (request) => {
    const principal = principalOf(request);
    const { id } = parseParams(ConversationParams, request.params);
    const query = parseParams(HistoryQuery, request.query);
    requireMember(await selectConversation(deps.pool, id), principal);
    const limit = Math.min(query.limit ?? 50, deps.maxPageSize);
    const page = await selectHistory(deps.pool, id, query.after ?? null, limit);
    const last = page.at(-1);
    return {
      messages: page.map(messageView),
      next:
        page.length === limit && last
          ? `/v1/conversations/${id}/messages?after=${last.message.id}&limit=${limit}`
          : null,
    };
  });

  app.get("/v1/messages/:id", async (request) => {
    const principal = principalOf(request);
    const { id } = parseParams(MessageParams, request.params);
    const found = await selectMessage(deps.pool, id);
    if (!found) throw new ProblemError(ProblemType.messageNotFound);
    const conversation = await selectConversation(deps.pool, found.message.conversationId);
    // A non-member learns nothing, not even that the message exists.
    if (!conversation || !conversation.members.some((m) => m.id === principal.id)) {
      throw new ProblemError(ProblemType.messageNotFound);
    }
    return messageView(found);
  });
}
