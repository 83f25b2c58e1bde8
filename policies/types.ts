// Public shapes of the policy engine: what goes into an evaluation and what comes out.
import type { Binding, Detection, Member } from "./model.ts";

/** What the evaluator may know of a conversation: its attributes and its sticky flag. */
export interface ConversationState {
  id: string;
  labels: readonly string[];
  members: readonly Member[];
  externalParticipants: boolean;
  bindings: readonly Binding[];
  /** True once any earlier decision made the conversation sensitive. */
  sensitive: boolean;
}

export interface MessageInput {
  id: string;
  sender: { id: string; roles?: readonly string[] };
  text: string;
}

export interface EvaluationInput {
  conversation: ConversationState;
  message: MessageInput;
}

export interface Verdict {
  sensitive: boolean;
  policyVersion: string;
  /** Ids of the rules that decided, in policy order; `sticky` when an earlier decision did. */
  rules: string[];
  reason: string | null;
  detections: Detection[];
}

/** An evaluation error points at what failed; the caller must route on-prem. */
export interface EvaluationError {
  code: "evaluation-failed";
  message: string;
  ruleId: string | null;
}

export type EvaluationResult = { ok: true; verdict: Verdict } | { ok: false; error: EvaluationError };

export interface Policy {
  readonly version: string;
  /** Never throws: any failure comes back as `{ ok: false }`. */
  evaluate(input: EvaluationInput): EvaluationResult;
}

/** A problem found in a policy file, located by line, column and field path. */
export type { YamlProblem as PolicyProblem } from "./yaml.ts";
