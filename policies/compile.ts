// parsePolicy (text -> document, with located problems) and compilePolicy (document -> Policy).
import { readYaml, schemaProblems } from "./yaml.ts";
import { PolicyDocument, type Rule } from "./schema.ts";
import type { EvaluationInput, EvaluationResult, Policy, PolicyProblem } from "./types.ts";

export type ParseResult = { ok: true; document: PolicyDocument } | { ok: false; problems: PolicyProblem[] };

/** Parses and validates a policy file; every problem names the line, column and field. */
export function parsePolicy(text: string, source: string): ParseResult {
  const read = readYaml(text, source);
  if (!read.ok) return read;
  const parsed = PolicyDocument.safeParse(read.yaml.value);
  if (parsed.success) return { ok: true, document: parsed.data };
  return { ok: false, problems: schemaProblems(parsed.error, read.yaml, source) };
}

export function compilePolicy(document: PolicyDocument): Policy {
  const rules = document.rules.map((rule) => ({ rule, matches: compileCondition(rule) }));
  const { version, otherwise } = document;
  return {
    version,
    evaluate(input: EvaluationInput): EvaluationResult {
      let current: string | null = null;
      try {
        if (input.conversation.sensitive) {
          return {
            ok: true,
            verdict: {
              sensitive: true,
              policyVersion: version,
              rules: ["sticky"],
              reason: "The conversation was classified sensitive earlier and stays on-prem.",
              detections: [],
            },
          };
        }
        for (const { rule, matches } of rules) {
          current = rule.id;
          if (matches(input)) {
            return {
              ok: true,
              verdict: {
                sensitive: rule.outcome === "sensitive",
                policyVersion: version,
                rules: [rule.id],
                reason: rule.reason,
                detections: [],
              },
            };
          }
        }
        return {
          ok: true,
          verdict: {
            sensitive: otherwise.outcome === "sensitive",
            policyVersion: version,
            rules: [],
            reason: otherwise.reason,
            detections: [],
          },
        };
      } catch (error) {
        return {
          ok: false,
          error: { code: "evaluation-failed", message: String(error), ruleId: current },
        };
      }
    },
  };
}

function compileCondition(rule: Rule): (input: EvaluationInput) => boolean {
  const wanted = rule.when.labels ? new Set(rule.when.labels.any) : null;
  return (input) => {
    if (wanted === null) return true;
    return input.conversation.labels.some((label) => wanted.has(label));
  };
}
