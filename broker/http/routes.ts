// API v1 routes: conversations, messages, history.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { Policy } from "../../policies/index.ts";
import type { Conversation } from "../../policies/model.ts";
import { inTransaction } from "../db/pool.ts";
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
} from "./schemas.ts";
import { parseBody, parseParams } from "./validate.ts";

export interface ApiDeps {
  pool: pg.Pool;
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
      return applyConversationRules(client, deps.policy(), created);
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
    return inTransaction(deps.pool, async (client) => {
      const updated = await updateConversation(client, id, {
        ...(body.title === undefined ? {} : { title: body.title }),
        ...(body.labels === undefined ? {} : { labels: [...new Set(body.labels)] }),
        ...(body.members === undefined ? {} : { memberIds: [...new Set(body.members.map((m) => m.id))] }),
      });
      if (!updated) throw new ProblemError(ProblemType.conversationNotFound);
      return applyConversationRules(client, deps.policy(), updated);
    });
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
