// Checks that span fields of a policy: names used in one place must be defined in another.
// Run by the schema's superRefine, so every problem is located like a shape error.
import type { z } from "zod";
import { builtinDetectorTypes } from "./detectors/index.ts";
import { customDefinition, detectorCompileProblem, enabledDetectorTypes } from "./detect.ts";
import type { Condition, DetectedCondition, PolicyDocument } from "./schema.ts";

type Path = Array<string | number>;
type Refinement<T> = (value: T, ctx: z.RefinementCtx) => void;

/** A condition object must hold exactly one of `kinds`. */
export function exactlyOneKey(kinds: readonly string[]): Refinement<object> {
  return (value, ctx) => {
    const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);
    // An unknown key is reported already; "needs one of" beside it would only repeat the problem.
    const unknownKey = ctx.issues.some((issue) => issue.code === "unrecognized_keys" && !issue.path?.length);
    if (keys.length === 0 && !unknownKey) {
      ctx.addIssue({ code: "custom", message: `a condition needs exactly one of: ${kinds.join(", ")}` });
    }
    for (const extra of keys.slice(1)) {
      ctx.addIssue({
        code: "custom",
        path: [extra],
        message: `one condition per object, found ${keys.join(" and ")}; combine them with 'all' or 'any'`,
      });
    }
  };
}

/** An object whose keys are all optional must still give one of them. */
export function atLeastOneKey(...keys: string[]): Refinement<object> {
  return (value, ctx) => {
    if (keys.some((key) => (value as Record<string, unknown>)[key] !== undefined)) return;
    ctx.addIssue({ code: "custom", message: `needs at least one of: ${keys.join(", ")}` });
  };
}

export function checkReferences(doc: PolicyDocument, ctx: z.RefinementCtx): void {
  const problem = (path: Path, message: string) => ctx.addIssue({ code: "custom", path, message });

  const ruleIds = new Set<string>();
  doc.rules.forEach((rule, index) => {
    if (ruleIds.has(rule.id)) problem(["rules", index, "id"], `duplicate rule id '${rule.id}'`);
    ruleIds.add(rule.id);
  });

  const builtins = new Set<string>();
  (doc.detectors?.builtin ?? []).forEach((entry, index) => {
    const type = typeof entry === "string" ? entry : entry.type;
    if (builtins.has(type)) problem(["detectors", "builtin", index], `detector '${type}' is listed twice`);
    builtins.add(type);
  });

  const customs = new Set<string>();
  (doc.detectors?.custom ?? []).forEach((custom, index) => {
    const at: Path = ["detectors", "custom", index];
    if ((builtinDetectorTypes as readonly string[]).includes(custom.type)) {
      problem([...at, "type"], `'${custom.type}' is a built-in detector; give the custom one another name`);
    } else if (customs.has(custom.type)) {
      problem([...at, "type"], `duplicate custom detector '${custom.type}'`);
    }
    customs.add(custom.type);
    if (custom.requireKeyword && !custom.keywords?.length) {
      // The detector compiler refuses this too; said here, the problem points at the right field.
      problem([...at, "requireKeyword"], "requireKeyword needs at least one keyword");
      return;
    }
    const compileError = detectorCompileProblem(customDefinition(custom));
    if (compileError !== null) problem([...at, "pattern"], compileError);
  });

  const enabled = new Set(enabledDetectorTypes(doc));
  const groups = new Set(Object.keys(doc.groups ?? {}));
  const checkDetected = (detected: DetectedCondition, at: Path) =>
    detected.types?.forEach((type, index) => {
      if (enabled.has(type)) return;
      const known = (builtinDetectorTypes as readonly string[]).includes(type);
      problem(
        [...at, "types", index],
        known
          ? `detector '${type}' is not enabled in this policy`
          : `unknown detector '${type}' (built-in: ${builtinDetectorTypes.join(", ")}; or define a custom one)`,
      );
    });
  const walk = (condition: Condition, at: Path): void => {
    if (typeof condition !== "object" || condition === null) return;
    condition.members?.anyInGroup?.forEach((group, index) => {
      if (!groups.has(group)) {
        problem(
          [...at, "members", "anyInGroup", index],
          `unknown group '${group}' (define it under 'groups')`,
        );
      }
    });
    if (condition.detected) checkDetected(condition.detected, [...at, "detected"]);
    if (condition.file?.detected) checkDetected(condition.file.detected, [...at, "file", "detected"]);
    condition.all?.forEach((child, index) => walk(child, [...at, "all", index]));
    condition.any?.forEach((child, index) => walk(child, [...at, "any", index]));
    if (condition.not) walk(condition.not, [...at, "not"]);
  };
  doc.rules.forEach((rule, index) => walk(rule.when, ["rules", index, "when"]));
}
