// The routing decision for one message, made inside one PostgreSQL transaction: reuse a recorded
// decision (redelivery), else evaluate the policy, persist stickiness, and record the decision.
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { EvaluationInput, EvaluationResult, Policy, Verdict } from "../../policies/index.ts";
import type { Conversation, Message, RoutingDecision } from "../../policies/model.ts";
import { recordDecision, selectDecision, selectDecisionContext } from "../db/decisions.ts";

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

/**
 * Two round trips and one commit: read the recorded decision and the conversation in one query, then
 * record the decision and the sticky flag in one statement. No lock is needed because one
 * partition decides one message at a time, and only the router of a conversation's partition
 * ever sets its flag.
 */
export async function decide(pool: pg.Pool, policy: Policy, message: Message): Promise<Decided> {
  const { recorded, conversation } = await selectDecisionContext(pool, message.conversationId, message.id);
  if (recorded) return { decision: recorded, input: null };

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
    actions: (Object.keys(verdict.actions) as Array<keyof Verdict["actions"]>).filter(
      (a) => verdict.actions[a],
    ),
    decidedAt: new Date().toISOString(),
  };
  const stickyReason = sticky ? (verdict.reason ?? verdict.rules.join(", ")) : null;
  if (await recordDecision(pool, decision, stickyReason)) return { decision, input };
  // Recorded meanwhile by an earlier delivery whose acknowledgement was lost: that one stands.
  const existing = await selectDecision(pool, message.id);
  if (!existing) throw new Error(`decision for ${message.id} neither recorded nor found`);
  return { decision: existing, input: null };
}
