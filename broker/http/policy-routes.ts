// Policy administration (role security-admin): versions, activation, rollback, explain, shadow
// mode, declassification and the audit log.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { z } from "zod";
import {
  compilePolicyText,
  formatExplanation,
  PolicyLoadError,
  type EvaluationInput,
  type Policy,
} from "../../policies/index.ts";
import { Label, Member } from "../../policies/model.ts";
import type { Principal } from "../auth/index.ts";
import { selectAudit, verifyAuditChain } from "../db/audit.ts";
import { verifyDecisionChains } from "../db/decision-chain.ts";
import { selectConversation } from "../db/conversations.ts";
import { listPolicyVersions, selectPolicyVersion } from "../db/policies.ts";
import { summarizeShadow } from "../db/shadow.ts";
import {
  clearShadow,
  PolicyNotFoundError,
  PolicyVersionConflictError,
  publishPolicy,
  rollbackPolicy,
} from "../policy/admin.ts";
import { ConversationMissingError, declassifyConversation, NotSensitiveError } from "../policy/declassify.ts";
import { PolicyKey, type PolicyRuntime } from "../policy/runtime.ts";
import { runPolicyTestsText } from "../policy/tests.ts";
import { evaluationInput } from "../router/decide.ts";
import { ProblemError, ProblemType } from "./problems.ts";
import { ConversationParams } from "./schemas.ts";
import { parseBody, parseParams } from "./validate.ts";

export const securityAdminRole = "security-admin";

export interface PolicyApiDeps {
  pool: pg.Pool;
  policies: PolicyRuntime;
}

const PolicyBody = z.strictObject({
  /** The policy file's text (YAML). */
  policy: z.string().min(1).max(1_048_576),
  /** Test cases (the `*.tests.yaml` format); the policy is refused when one fails. */
  tests: z.string().max(1_048_576).optional(),
  comment: z.string().max(1000).default(""),
});

const RollbackBody = z.strictObject({
  version: z.string().min(1).optional(),
  comment: z.string().max(1000).default(""),
});

const ExplainBody = z.strictObject({
  text: z.string().max(1_048_576),
  /** Explain against this conversation's current state… */
  conversationId: z.uuid().optional(),
  /** …or against these attributes. */
  conversation: z
    .strictObject({
      title: z.string().default(""),
      labels: z.array(Label).default([]),
      members: z.array(Member).default([]),
      externalParticipants: z.boolean().default(false),
      sensitive: z.boolean().default(false),
    })
    .optional(),
  sender: z
    .strictObject({
      id: z.string().min(1).default("sample-sender"),
      roles: z.array(z.string()).default([]),
      groups: z.array(z.string()).default([]),
      department: z.string().nullable().default(null),
    })
    .optional(),
  /** A candidate policy to explain with instead of the active one. */
  policy: z.string().min(1).max(1_048_576).optional(),
});

const DeclassifyBody = z.strictObject({
  reason: z.string().trim().min(10, "write a reason of at least 10 characters"),
});

const AuditQuery = z.strictObject({
  subject: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function admin(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw new ProblemError(ProblemType.unauthenticated);
  if (!principal.roles.includes(securityAdminRole)) {
    throw new ProblemError(ProblemType.forbidden, `this action needs the role '${securityAdminRole}'`);
  }
  return principal;
}

/** Validates and tests a candidate; a refusal is a problem carrying every located error. */
async function candidate(body: z.infer<typeof PolicyBody>): Promise<Policy> {
  let policy: Policy;
  try {
    policy = compilePolicyText(body.policy, "policy");
  } catch (error) {
    if (error instanceof PolicyLoadError) {
      throw new ProblemError(
        ProblemType.invalidPolicy,
        `the policy is invalid (${error.problems.length} problem${error.problems.length === 1 ? "" : "s"})`,
        error.problems.map((p) => ({ path: p.path, message: p.message, line: p.line, column: p.column })),
      );
    }
    throw error;
  }
  if (body.tests !== undefined) {
    const report = runPolicyTestsText(policy, body.tests, "tests");
    if (!report.ok) {
      throw new ProblemError(ProblemType.invalidBody, "the tests do not validate", report.problems);
    }
    if (report.failed > 0) {
      throw new ProblemError(
        ProblemType.policyTestsFailed,
        `${report.failed} of ${report.cases.length} cases fail`,
        undefined,
        {
          failures: report.cases.filter((c) => !c.passed).map((c) => ({ name: c.name, diff: c.diff })),
        },
      );
    }
  }
  return policy;
}

function mapAdminError(error: unknown): never {
  if (error instanceof PolicyVersionConflictError)
    throw new ProblemError(ProblemType.policyVersionConflict, error.message);
  if (error instanceof PolicyNotFoundError) throw new ProblemError(ProblemType.policyNotFound, error.message);
  if (error instanceof NotSensitiveError) throw new ProblemError(ProblemType.notSensitive);
  if (error instanceof ConversationMissingError) throw new ProblemError(ProblemType.conversationNotFound);
  throw error;
}

export function registerPolicyRoutes(app: FastifyInstance, deps: PolicyApiDeps): void {
  const adminDeps = { pool: deps.pool, runtime: deps.policies };

  app.get("/v1/policy", async (request) => {
    admin(request);
    const pointer = deps.policies.pointer(PolicyKey.active);
    const stored = pointer && (await selectPolicyVersion(deps.pool, { revision: pointer.revision }));
    return { active: stored, shadow: deps.policies.pointer(PolicyKey.shadow) };
  });

  app.get("/v1/policy/versions", async (request) => {
    admin(request);
    return { versions: await listPolicyVersions(deps.pool) };
  });

  /** Validates, tests, stores and points `key` at the policy in the request body. */
  const publishFrom = async (request: FastifyRequest, key: PolicyKey) => {
    const principal = admin(request);
    const body = parseBody(PolicyBody, request.body);
    const policy = await candidate(body);
    return publishPolicy(adminDeps, {
      content: body.policy,
      policy,
      actor: principal.id,
      comment: body.comment,
      key,
    }).catch(mapAdminError);
  };

  app.put("/v1/policy", async (request) => ({ active: await publishFrom(request, PolicyKey.active) }));

  app.post("/v1/policy/rollback", async (request) => {
    const principal = admin(request);
    const body = parseBody(RollbackBody, request.body ?? {});
    const pointer = await rollbackPolicy(adminDeps, {
      version: body.version ?? null,
      actor: principal.id,
      comment: body.comment,
    }).catch(mapAdminError);
    return { active: pointer };
  });

  app.post("/v1/policy/explain", async (request) => {
    const principal = admin(request);
    const body = parseBody(ExplainBody, request.body);
    const policy =
      body.policy === undefined
        ? deps.policies.active()
        : await candidate({ policy: body.policy, comment: "" });
    let conversation: EvaluationInput["conversation"];
    if (body.conversationId !== undefined) {
      const stored = await selectConversation(deps.pool, body.conversationId);
      if (!stored) throw new ProblemError(ProblemType.conversationNotFound);
      conversation = evaluationInput(stored, {
        id: "sample-message",
        sender: { id: principal.id },
        text: "",
      }).conversation;
    } else {
      const given = body.conversation ?? {
        title: "",
        labels: [],
        members: [],
        externalParticipants: false,
        sensitive: false,
      };
      conversation = { id: "sample-conversation", bindings: [], ...given };
    }
    const sender = body.sender ?? { id: principal.id, roles: [], groups: [], department: null };
    const explanation = policy.explain({
      conversation,
      message: { id: "sample-message", sender, text: body.text },
    });
    return { policyVersion: policy.version, explanation, text: formatExplanation(explanation) };
  });

  app.put("/v1/policy/shadow", async (request) => ({ shadow: await publishFrom(request, PolicyKey.shadow) }));

  app.delete("/v1/policy/shadow", async (request, reply) => {
    const principal = admin(request);
    await clearShadow(adminDeps, principal.id);
    return reply.code(204).send();
  });

  app.get("/v1/policy/shadow", async (request) => {
    admin(request);
    const shadow = deps.policies.pointer(PolicyKey.shadow);
    return {
      active: deps.policies.pointer(PolicyKey.active),
      shadow,
      summary: shadow ? await summarizeShadow(deps.pool, shadow.version) : null,
    };
  });

  app.post("/v1/conversations/:id/declassify", async (request) => {
    const principal = admin(request);
    const { id } = parseParams(ConversationParams, request.params);
    const body = parseBody(DeclassifyBody, request.body);
    return declassifyConversation(deps.pool, {
      conversationId: id,
      reason: body.reason,
      actor: principal.id,
    }).catch(mapAdminError);
  });

  app.get("/v1/audit", async (request) => {
    admin(request);
    const query = parseParams(AuditQuery, request.query);
    return {
      entries: await selectAudit(deps.pool, query.subject, query.limit ?? 100),
      chain: await verifyAuditChain(deps.pool),
      // A full scan of the decisions: fine for an admin's check, not for a dashboard's poll.
      decisions: await verifyDecisionChains(deps.pool),
    };
  });
}
