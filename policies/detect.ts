// The detectors a policy enables, compiled once into one DetectorSet, with each built-in's
// confidence floor applied before any rule sees a detection.
import {
  builtinDetectors,
  builtinDetectorTypes,
  compileDetectors,
  customDetector,
  DetectorCompileError,
  type BuiltinDetectorType,
  type DetectorDefinition,
} from "./detectors/index.ts";
import type { Detection } from "./model.ts";
import { unboundedRepeatProblem } from "./pattern-bounds.ts";
import type { CustomDetector, PolicyDocument } from "./schema.ts";

interface BuiltinChoice {
  type: BuiltinDetectorType;
  keywords: readonly string[];
  minConfidence: number;
}

function builtinChoices(doc: PolicyDocument): BuiltinChoice[] {
  const entries = doc.detectors?.builtin ?? builtinDetectorTypes;
  return entries.map((entry) =>
    typeof entry === "string"
      ? { type: entry, keywords: [], minConfidence: 0 }
      : { type: entry.type, keywords: entry.keywords ?? [], minConfidence: entry.minConfidence ?? 0 },
  );
}

/** Built-in types first (in the policy's order), then custom ones. */
export function enabledDetectorTypes(doc: PolicyDocument): string[] {
  return [
    ...builtinChoices(doc).map((choice) => choice.type),
    ...(doc.detectors?.custom ?? []).map((c) => c.type),
  ];
}

export function customDefinition(custom: CustomDetector): DetectorDefinition {
  return customDetector(custom);
}

/** Why the detector cannot compile, or null when it can. */
export function detectorCompileProblem(definition: DetectorDefinition): string | null {
  const unbounded = unboundedRepeatProblem(definition.pattern);
  if (unbounded !== null) return unbounded;
  try {
    compileDetectors([definition]);
    return null;
  } catch (error) {
    if (error instanceof DetectorCompileError) return error.message;
    return `cannot compile: ${String(error)}`;
  }
}

export interface ScanResult {
  /** What rules see: every detection at or above its detector's floor. */
  kept: Detection[];
  /** Below a built-in's `minConfidence`; shown by explain, never used by rules. */
  dropped: Detection[];
}

export interface PolicyDetectors {
  readonly types: readonly string[];
  readonly builtin: ReadonlySet<string>;
  scan(text: string): ScanResult;
}

export function compilePolicyDetectors(doc: PolicyDocument): PolicyDetectors {
  const choices = builtinChoices(doc);
  const definitions: DetectorDefinition[] = choices.map((choice) => {
    const definition = builtinDetectors[choice.type];
    if (choice.keywords.length === 0) return definition;
    return { ...definition, keywords: [...definition.keywords, ...choice.keywords] };
  });
  definitions.push(...(doc.detectors?.custom ?? []).map(customDefinition));
  const set = compileDetectors(definitions);
  const floors = new Map<string, number>(
    choices.filter((choice) => choice.minConfidence > 0).map((choice) => [choice.type, choice.minConfidence]),
  );
  return {
    types: definitions.map((definition) => definition.type),
    builtin: new Set(choices.map((choice) => choice.type)),
    scan(text) {
      const kept: Detection[] = [];
      const dropped: Detection[] = [];
      for (const found of set.scan(text)) {
        // Copy the four public fields only: a detection never carries text.
        const detection = {
          type: found.type,
          start: found.start,
          end: found.end,
          confidence: found.confidence,
        };
        if (detection.confidence < (floors.get(detection.type) ?? 0)) dropped.push(detection);
        else kept.push(detection);
      }
      return { kept, dropped };
    },
  };
}
