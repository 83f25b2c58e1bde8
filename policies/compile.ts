// parsePolicy (text -> document, with located problems) and compilePolicy (document -> Policy).
import { compileCondition, type CompiledCondition, type EvaluationContext } from "./conditions.ts";
import { compilePolicyDetectors, type PolicyDetectors } from "./detect.ts";
import type { DetectorExplanation, Explanation, RuleExplanation } from "./explain.ts";
import type { Detection } from "./model.ts";
import { PolicyDocument, type Rule } from "./schema.ts";
import type {
  Action,
  Actions,
  EvaluationInput,
  EvaluationResult,
  Policy,
  PolicyProblem,
  Verdict,
} from "./types.ts";
import { readYaml, schemaProblems } from "./yaml.ts";

export type ParseResult = { ok: true; document: PolicyDocument } | { ok: false; problems: PolicyProblem[] };

/** Parses and validates a policy file; every problem names the line, column and field. */
export function parsePolicy(text: string, source: string): ParseResult {
  const read = readYaml(text, source);
  if (!read.ok) return read;
  const parsed = PolicyDocument.safeParse(read.yaml.value);
  if (parsed.success) return { ok: true, document: parsed.data };
  return { ok: false, problems: schemaProblems(parsed.error, read.yaml, source) };
}

interface CompiledRule {
  rule: Rule;
  actions: readonly Action[];
  condition: CompiledCondition;
}

const STICKY_REASON = "The conversation was classified sensitive earlier and stays on-prem.";

/** Compiles a validated document. Detectors compile once here; each evaluation scans each text once. */
export function compilePolicy(document: PolicyDocument): Policy {
  const detectors = compilePolicyDetectors(document);
  const scope = { groups: document.groups ?? {} };
  const rules: CompiledRule[] = document.rules.map((rule, index) => ({
    rule,
    actions: [...new Set(rule.actions ?? [])],
    condition: compileCondition(rule.when, `rules.${index}.when`, scope),
  }));
  const { version, otherwise } = document;

  // No object spread on this path: run through tsx, it cost more than all the rest of a short message.
  function evaluate(input: EvaluationInput): EvaluationResult {
    let current: string | null = null;
    try {
      const { context } = prepare(detectors, input);
      const detections = context.detections.slice();
      let verdict: Verdict;
      if (isSticky(input)) {
        verdict = {
          sensitive: true,
          policyVersion: version,
          rules: ["sticky"],
          reason: STICKY_REASON,
          actions: noActions(),
          detections,
        };
      } else {
        const matched: CompiledRule[] = [];
        for (const compiled of rules) {
          current = compiled.rule.id;
          if (compiled.condition.test(context)) matched.push(compiled);
        }
        current = null;
        verdict = decide(matched, detections);
      }
      if (input.message.files) {
        verdict.fileDetections = context.files.map(({ file, detections: found }) => ({
          fileId: file.id,
          detections: found.slice(),
        }));
      }
      return { ok: true, verdict };
    } catch (error) {
      return {
        ok: false,
        error: { code: "evaluation-failed", message: errorMessage(error), ruleId: current },
      };
    }
  }

  /** Deny-overrides: any matching sensitive rule wins, since a leak is worse than a false alarm. */
  function decide(matched: readonly CompiledRule[], detections: Detection[]): Verdict {
    const sensitive = matched.filter(({ rule }) => rule.outcome === "sensitive");
    const deciding = sensitive.length > 0 ? sensitive : matched;
    const first = deciding[0];
    const actions = noActions();
    if (first === undefined) {
      const { outcome, reason } = otherwise;
      return {
        sensitive: outcome === "sensitive",
        policyVersion: version,
        rules: [],
        reason,
        actions,
        detections,
      };
    }
    for (const { actions: ruleActions } of deciding) for (const action of ruleActions) actions[action] = true;
    return {
      // A block keeps the message off the cloud, so it is sensitive whatever the rule's outcome.
      sensitive: first.rule.outcome === "sensitive" || actions.block,
      policyVersion: version,
      rules: deciding.map(({ rule }) => rule.id),
      reason: first.rule.reason,
      actions,
      detections,
    };
  }

  function explain(input: EvaluationInput): Explanation {
    const result = evaluate(input);
    const explanation: Explanation = {
      policyVersion: version,
      conversationId: null,
      messageId: null,
      sticky: false,
      detectors: [],
      detections: [],
      files: [],
      rules: [],
      otherwise: { outcome: otherwise.outcome, reason: otherwise.reason },
      result,
    };
    try {
      explanation.conversationId = idOf(input?.conversation?.id);
      explanation.messageId = idOf(input?.message?.id);
      explanation.sticky = isSticky(input);
      const { context, dropped } = prepare(detectors, input);
      explanation.detections = [...context.detections];
      explanation.detectors = detectorSummary(detectors, context, dropped);
      explanation.files = context.files.map(({ file, detections }) => ({
        fileId: file.id,
        inspectable: file.text !== null,
        detections: [...detections],
      }));
      explanation.rules = rules.map((compiled) => explainRule(compiled, context));
    } catch (error) {
      // The input could not even be read: say so on every rule, as evaluate failed closed too.
      explanation.rules = rules.map(({ rule, actions }) => ({
        ...ruleHeader(rule, actions),
        matched: false,
        error: errorMessage(error),
        condition: null,
      }));
    }
    return explanation;
  }

  return { version, detectorTypes: detectors.types, evaluate, explain };
}

function prepare(
  detectors: PolicyDetectors,
  input: EvaluationInput,
): { context: EvaluationContext; dropped: Detection[] } {
  const { conversation, message } = input;
  if (typeof message.text !== "string") throw new TypeError("message.text is not a string");
  const { kept, dropped } = detectors.scan(message.text);
  const attached = message.files ?? [];
  if (!Array.isArray(attached)) throw new TypeError("message.files is not a list");
  const files = attached.map((file) => {
    if (file.text !== null && typeof file.text !== "string") {
      throw new TypeError("file.text is neither a string nor null");
    }
    return { file, detections: file.text === null ? [] : detectors.scan(file.text).kept };
  });
  return { context: { conversation, message, detections: kept, files }, dropped };
}

/** An unknown sticky state fails closed: only a real `false` lets the rules decide. */
function isSticky(input: EvaluationInput): boolean {
  const { sensitive } = input.conversation;
  if (typeof sensitive !== "boolean") throw new TypeError("conversation.sensitive is not a boolean");
  return sensitive;
}

function explainRule(compiled: CompiledRule, context: EvaluationContext): RuleExplanation {
  const header = ruleHeader(compiled.rule, compiled.actions);
  try {
    const condition = compiled.condition.explain(context);
    return { ...header, matched: condition.matched, error: null, condition };
  } catch (error) {
    return { ...header, matched: false, error: errorMessage(error), condition: null };
  }
}

function ruleHeader(rule: Rule, actions: readonly Action[]) {
  return {
    id: rule.id,
    description: rule.description ?? null,
    outcome: rule.outcome,
    reason: rule.reason,
    actions: [...actions],
  };
}

function detectorSummary(
  detectors: PolicyDetectors,
  context: EvaluationContext,
  dropped: readonly Detection[],
): DetectorExplanation[] {
  return detectors.types.map((type) => {
    const own = context.detections.filter((detection) => detection.type === type);
    return {
      type,
      source: detectors.builtin.has(type) ? "builtin" : "custom",
      fired: own.length > 0,
      count: own.length,
      maxConfidence: own.reduce<number | null>((max, { confidence }) => Math.max(max ?? 0, confidence), null),
      belowMinConfidence: dropped.filter((detection) => detection.type === type).length,
      inFiles: context.files.reduce(
        (sum, { detections }) => sum + detections.filter((detection) => detection.type === type).length,
        0,
      ),
    };
  });
}

function noActions(): Actions {
  return { notify: false, redact: false, block: false, retract: false };
}

function idOf(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
