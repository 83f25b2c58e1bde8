// Public shapes of the policy engine: what goes into an evaluation and what comes out.
import type { Binding, Detection, Member } from "./model.ts";
import type { Explanation } from "./explain.ts";

/** What the evaluator may know of a conversation: its attributes and its sticky flag. */
export interface ConversationState {
  id: string;
  /** Matched by `title` conditions (a case-insensitive glob). */
  title: string;
  labels: readonly string[];
  members: readonly Member[];
  externalParticipants: boolean;
  bindings: readonly Binding[];
  /** True once any earlier decision made the conversation sensitive. */
  sensitive: boolean;
}

/** The sender as the token describes them. */
export interface SenderInput {
  id: string;
  roles?: readonly string[];
  groups?: readonly string[];
  department?: string | null;
}

/** A file attached to the message, with the text the broker could extract from it. */
export interface FileInput {
  id: string;
  name: string;
  mediaType: string;
  /** Size in bytes. */
  size: number;
  /** Extracted text; null when the file could not be inspected (an image, an encrypted archive). */
  text: string | null;
}

export interface MessageInput {
  id: string;
  sender: SenderInput;
  text: string;
  files?: readonly FileInput[];
}

export interface EvaluationInput {
  conversation: ConversationState;
  message: MessageInput;
}

/** What a rule may ask of the broker besides a zone. */
export const Action = { notify: "notify", redact: "redact", block: "block", retract: "retract" } as const;
export type Action = (typeof Action)[keyof typeof Action];

/**
 * The actions of the rules that decided: `notify` the sender, `redact` each detected span when
 * relaying, `block` the message (which also forces the verdict sensitive), `retract` what the
 * conversation already has in the cloud when this decision turns it sensitive.
 */
export type Actions = Record<Action, boolean>;

/** Detections inside one attached file's text. */
export interface FileDetections {
  fileId: string;
  detections: Detection[];
}

export interface Verdict {
  sensitive: boolean;
  policyVersion: string;
  /**
   * Ids of the rules that decided, in policy order: every matching rule of the winning outcome;
   * `sticky` when an earlier decision did; empty when `otherwise` did.
   */
  rules: string[];
  reason: string | null;
  actions: Actions;
  /** Every detection in the message text (type and offsets, never the text itself). */
  detections: Detection[];
  /** Per attached file, in the order given; present only when the message had files. */
  fileDetections?: FileDetections[];
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
  /** The detector types this policy enables, built-in then custom. */
  readonly detectorTypes: readonly string[];
  /** Never throws: any failure comes back as `{ ok: false }`. */
  evaluate(input: EvaluationInput): EvaluationResult;
  /** Why `evaluate` decides what it decides, detector by detector and condition by condition. Never throws. */
  explain(input: EvaluationInput): Explanation;
}

/** A problem found in a policy file, located by line, column and field path. */
export type { YamlProblem as PolicyProblem } from "./yaml.ts";
