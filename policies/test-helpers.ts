// Helpers shared by the policy engine's unit tests (not part of the public surface).
import { strict as assert } from "node:assert";
import { compilePolicy, parsePolicy } from "./compile.ts";
import type {
  ConversationState,
  EvaluationInput,
  EvaluationResult,
  MessageInput,
  Policy,
  PolicyProblem,
  Verdict,
} from "./types.ts";

export function conversationState(overrides: Partial<ConversationState> = {}): ConversationState {
  return {
    id: "c-1",
    title: "general",
    labels: [],
    members: [{ id: "alice" }, { id: "bob" }],
    externalParticipants: false,
    bindings: [],
    sensitive: false,
    ...overrides,
  };
}

export function evaluationInput(
  overrides: { conversation?: Partial<ConversationState>; message?: Partial<MessageInput> } = {},
): EvaluationInput {
  return {
    conversation: conversationState(overrides.conversation),
    message: { id: "m-1", sender: { id: "alice", roles: [] }, text: "hello", ...overrides.message },
  };
}

export function verdictOf(result: EvaluationResult): Verdict {
  assert.equal(result.ok, true, `evaluation failed: ${JSON.stringify(result)}`);
  if (!result.ok) throw new Error("unreachable");
  return result.verdict;
}

export function policyFrom(text: string, source = "test.yaml"): Policy {
  const parsed = parsePolicy(text, source);
  assert.equal(parsed.ok, true, `policy rejected: ${JSON.stringify(parsed)}`);
  if (!parsed.ok) throw new Error("unreachable");
  return compilePolicy(parsed.document);
}

export function problemsOf(text: string, source = "policy.yaml"): PolicyProblem[] {
  const parsed = parsePolicy(text, source);
  assert.equal(parsed.ok, false, "the policy should have been rejected");
  if (parsed.ok) throw new Error("unreachable");
  return parsed.problems;
}

/** The one problem of `text`, as `[line, column, path]` plus its message. */
export function onlyProblem(text: string): PolicyProblem {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  return problems[0] as PolicyProblem;
}

/** A policy with one sensitive rule `r` whose condition is `when` (written as JSON, which is YAML). */
export function singleRule(when: unknown, head = ""): Policy {
  return policyFrom(`version: t
${head}
rules:
  - id: r
    when: ${JSON.stringify(when)}
    outcome: sensitive
    reason: matched
otherwise: {outcome: normal, reason: nothing matched}
`);
}

/** Whether `when` matches `input`, checked through evaluate and explain (which must agree). */
export function matches(policy: Policy, input: EvaluationInput): boolean {
  const verdict = verdictOf(policy.evaluate(input));
  const explained = policy.explain(input).rules.find((rule) => rule.id === "r");
  assert.ok(explained, "explain lists rule r");
  const matched = verdict.rules.includes("r");
  assert.equal(explained.matched, matched, "explain agrees with evaluate");
  assert.equal(explained.condition?.matched, matched);
  return matched;
}
