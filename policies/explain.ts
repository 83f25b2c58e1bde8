// The structured account `Policy.explain` returns, and its plain-text rendering for a terminal.
// Neither ever holds message text: detections are types, offsets and confidences.
import type { ConditionExplanation } from "./conditions.ts";
import type { Detection } from "./model.ts";
import type { Outcome } from "./schema.ts";
import type { Action, EvaluationResult } from "./types.ts";

export type { ConditionExplanation } from "./conditions.ts";

export interface DetectorExplanation {
  type: string;
  source: "builtin" | "custom";
  /** Fired in the message text (at or above its confidence floor). */
  fired: boolean;
  count: number;
  maxConfidence: number | null;
  /** Matches in the text below the built-in's `minConfidence`, dropped before the rules. */
  belowMinConfidence: number;
  /** Detections in the attached files' texts. */
  inFiles: number;
}

export interface RuleExplanation {
  id: string;
  description: string | null;
  outcome: Outcome;
  reason: string;
  actions: Action[];
  matched: boolean;
  /** Set when the rule could not be evaluated on this input; the evaluation then fails closed. */
  error: string | null;
  condition: ConditionExplanation | null;
}

export interface FileExplanation {
  fileId: string;
  inspectable: boolean;
  detections: Detection[];
}

export interface Explanation {
  policyVersion: string;
  conversationId: string | null;
  messageId: string | null;
  /** The conversation was already sensitive: the verdict is `sticky` whatever the rules say. */
  sticky: boolean;
  detectors: DetectorExplanation[];
  /** Detections in the message text, as the verdict reports them. */
  detections: Detection[];
  files: FileExplanation[];
  rules: RuleExplanation[];
  otherwise: { outcome: Outcome; reason: string };
  /** Exactly what `evaluate` returns for the same input. */
  result: EvaluationResult;
}

const OFFSETS_SHOWN = 10;

/** A terminal-friendly account: the verdict first, then every detector, then every rule. */
export function formatExplanation(explanation: Explanation): string {
  const lines: string[] = [];
  const { result } = explanation;
  lines.push(`Policy ${explanation.policyVersion}`);
  lines.push(`  conversation ${explanation.conversationId ?? "?"}, message ${explanation.messageId ?? "?"}`);
  if (result.ok) {
    const { verdict } = result;
    const zone = verdict.sensitive ? "SENSITIVE (stays on-prem)" : "NORMAL (relayed to the cloud)";
    const by = verdict.rules.length ? `rules ${verdict.rules.join(", ")}` : "otherwise (no rule matched)";
    lines.push(`Verdict: ${zone}, decided by ${by}`);
    lines.push(`  reason: ${verdict.reason ?? "-"}`);
    const actions = Object.entries(verdict.actions)
      .filter(([, on]) => on)
      .map(([action]) => action);
    lines.push(`  actions: ${actions.length ? actions.join(", ") : "none"}`);
  } else {
    const at = result.error.ruleId ? ` in rule ${result.error.ruleId}` : "";
    lines.push(`Verdict: ERROR${at}: ${result.error.message} (the broker routes on-prem)`);
  }
  if (explanation.sticky) {
    lines.push("  sticky: the conversation was already sensitive; the rules below are shown for reference");
  }

  lines.push("", "Detectors (message text):");
  const width = Math.max(0, ...explanation.detectors.map((detector) => detector.type.length));
  for (const detector of explanation.detectors) {
    const name = `${detector.type.padEnd(width)}  ${detector.source === "custom" ? "custom " : "builtin"}`;
    const parts = [
      detector.fired
        ? `fired ${detector.count}× (max confidence ${round(detector.maxConfidence ?? 0)})`
        : "did not fire",
    ];
    if (detector.belowMinConfidence > 0) {
      parts.push(`${detector.belowMinConfidence} below minConfidence, ignored`);
    }
    if (detector.inFiles > 0) parts.push(`${detector.inFiles} in files`);
    lines.push(`  ${name}  ${parts.join("; ")}`);
  }
  if (explanation.detections.length > 0) {
    lines.push(`  at: ${offsets(explanation.detections)}`);
  }
  if (explanation.files.length > 0) {
    lines.push("", "Files:");
    for (const file of explanation.files) {
      const found = file.detections.length ? offsets(file.detections) : "no detections";
      lines.push(`  ${file.fileId}: ${file.inspectable ? found : "not inspectable (no text)"}`);
    }
  }

  lines.push("", "Rules (every rule is evaluated; a matching sensitive rule overrides normal ones):");
  for (const rule of explanation.rules) {
    const state = rule.error !== null ? "ERROR" : rule.matched ? "MATCHED" : "no match";
    const actions = rule.actions.length ? ` [actions: ${rule.actions.join(", ")}]` : "";
    lines.push(`  ${rule.id}: ${state} → ${rule.outcome}${actions}`);
    lines.push(`    reason: ${rule.reason}`);
    if (rule.error !== null) lines.push(`    error: ${rule.error}`);
    if (rule.condition) conditionLines(rule.condition, 2, lines);
  }
  if (explanation.rules.length === 0) lines.push("  (none)");
  lines.push(`  otherwise → ${explanation.otherwise.outcome}`, `    reason: ${explanation.otherwise.reason}`);
  return lines.join("\n");
}

function conditionLines(node: ConditionExplanation, depth: number, lines: string[]): void {
  lines.push(`${"  ".repeat(depth)}${node.reason}`);
  for (const child of node.children) conditionLines(child, depth + 1, lines);
}

function offsets(detections: readonly Detection[]): string {
  const shown = detections
    .slice(0, OFFSETS_SHOWN)
    .map(
      (detection) => `${detection.type} ${detection.start}–${detection.end} (${round(detection.confidence)})`,
    );
  if (detections.length > OFFSETS_SHOWN) shown.push(`… ${detections.length - OFFSETS_SHOWN} more`);
  return shown.join(", ");
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}
