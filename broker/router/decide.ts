// The routing decision for one message, made inside one PostgreSQL transaction: reuse a recorded
// decision (redelivery), else evaluate the policy, persist stickiness, and record the decision.
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { EvaluationInput, EvaluationResult, Policy, Verdict } from "../../policies/index.ts";
import type { Conversation, Message, RoutingDecision } from "../../policies/model.ts";
import { markSensitive, selectConversation } from "../db/conversations.ts";
import { insertDecision, selectDecision } from "../db/decisions.ts";
import { inTransaction } from "../db/pool.ts";

/** Every failure inside classification ends here: on-prem, with the reason recorded. */
function failClosed(policyVersion: string, rule: string, reason: string): Verdict {
  return {
    sensitive: true,
    policyVersion,
    rules: [rule],
    reason,
    detections: [],
    actions: { notify: false, redact: false, block: false },
  };
}

/** The Policy contract says evaluate never throws; this holds even if an implementation does. */
export function evaluateSafely(policy: Policy, input: EvaluationInput): EvaluationResult {
  try {
    return policy.evaluate(input);
  } catch (error) {
    return { ok: false, error: { code: "evaluation-failed", message: String(error), ruleId: null } };
  }
}

/** The verdict, or an on-prem one when evaluation failed: the broker and the CLI share this. */
export function verdictOrFailClosed(policy: Policy, input: EvaluationInput): Verdict {
  const result = evaluateSafely(policy, input);
  return result.ok
    ? result.verdict
    : failClosed(policy.version, "fail-closed:evaluation-error", "Classification failed.");
}

export function evaluationInput(conversation: Conversation, message: Message): EvaluationInput {
  return {
    conversation: {
      id: conversation.id,
      title: conversation.title,
      labels: conversation.labels,
      members: conversation.members,
      externalParticipants: conversation.externalParticipants,
      bindings: conversation.bindings,
      sensitive: conversation.sensitivity.sensitive,
    },
    message: { id: message.id, sender: message.sender, text: message.text },
  };
}

export interface Decided {
  decision: RoutingDecision;
  /** What the policy saw; null when a recorded decision was reused. */
  input: EvaluationInput | null;
}

export async function decide(pool: pg.Pool, policy: Policy, message: Message): Promise<Decided> {
  return inTransaction(pool, async (client) => {
    const recorded = await selectDecision(client, message.id);
    if (recorded) return { decision: recorded, input: null };

    // FOR UPDATE: a declassification or label change cannot interleave with this decision.
    const conversation = await selectConversation(client, message.conversationId, { forUpdate: true });
    let verdict: Verdict;
    let input: EvaluationInput | null = null;
    let sticky = false;
    if (!conversation) {
      verdict = failClosed(policy.version, "fail-closed:unknown-conversation", "Unknown conversation.");
    } else {
      input = evaluationInput(conversation, message);
      const result = evaluateSafely(policy, input);
      verdict = result.ok
        ? result.verdict
        : failClosed(policy.version, "fail-closed:evaluation-error", "Classification failed.");
      // A failed evaluation keeps this message on-prem but does not mark the conversation for good.
      sticky = result.ok && verdict.sensitive && !conversation.sensitivity.sensitive;
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
      actions: (Object.keys(verdict.actions) as Array<keyof Verdict["actions"]>).filter((a) => verdict.actions[a]),
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
    return { decision, input };
  });
}
