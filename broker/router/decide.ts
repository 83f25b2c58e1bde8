// The routing decision for one message, made inside one PostgreSQL transaction: reuse a recorded
// decision (redelivery), else evaluate the policy, persist stickiness, and record the decision.
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { EvaluationInput, EvaluationResult, Policy, Verdict } from "../../policies/index.ts";
import type { Message, RoutingDecision } from "../../policies/model.ts";
import { markSensitive, selectConversation } from "../db/conversations.ts";
import { insertDecision, selectDecision } from "../db/decisions.ts";
import { inTransaction } from "../db/pool.ts";

/** Every failure inside classification ends here: on-prem, with the reason recorded. */
function failClosed(policyVersion: string, rule: string, reason: string): Verdict {
  return { sensitive: true, policyVersion, rules: [rule], reason, detections: [] };
}

/** The Policy contract says evaluate never throws; this holds even if an implementation does. */
function evaluateSafely(policy: Policy, input: EvaluationInput): EvaluationResult {
  try {
    return policy.evaluate(input);
  } catch (error) {
    return { ok: false, error: { code: "evaluation-failed", message: String(error), ruleId: null } };
  }
}

export async function decide(pool: pg.Pool, policy: Policy, message: Message): Promise<RoutingDecision> {
  return inTransaction(pool, async (client) => {
    const recorded = await selectDecision(client, message.id);
    if (recorded) return recorded;

    // FOR UPDATE: a declassification or label change cannot interleave with this decision.
    const conversation = await selectConversation(client, message.conversationId, { forUpdate: true });
    let verdict: Verdict;
    let sticky = false;
    if (!conversation) {
      verdict = failClosed(policy.version, "fail-closed:unknown-conversation", "Unknown conversation.");
    } else {
      const result = evaluateSafely(policy, {
        conversation: {
          id: conversation.id,
          labels: conversation.labels,
          members: conversation.members,
          externalParticipants: conversation.externalParticipants,
          bindings: conversation.bindings,
          sensitive: conversation.sensitivity.sensitive,
        },
        message: { id: message.id, sender: message.sender, text: message.text },
      });
      if (result.ok) {
        verdict = result.verdict;
        sticky = verdict.sensitive && !conversation.sensitivity.sensitive;
      } else {
        verdict = failClosed(policy.version, "fail-closed:evaluation-error", "Classification failed.");
      }
    }

    const decision: RoutingDecision = {
      id: uuidv7(),
      messageId: message.id,
      conversationId: message.conversationId,
      zone: verdict.sensitive ? "onprem" : "cloud",
      sensitive: verdict.sensitive,
      policyVersion: verdict.policyVersion,
      rules: verdict.rules,
      reason: verdict.reason,
      detections: verdict.detections,
      decidedAt: new Date().toISOString(),
    };
    if (sticky) {
      await markSensitive(
        client,
        message.conversationId,
        verdict.reason ?? verdict.rules.join(", "),
        decision.id,
      );
    }
    await insertDecision(client, decision);
    return decision;
  });
}
