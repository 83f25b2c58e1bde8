// A policy's own detector, written with only the fields that matter and defaults for the rest.
import { ValidatorName, type DetectorDefinition } from "./types.ts";

export interface CustomDetectorSpec {
  type: string;
  /** Regular expression source; compiled with the `gu` flags (plus `i` when `ignoreCase`). */
  pattern: string;
  /** @default "none" */
  validator?: ValidatorName;
  /** @default [] */
  keywords?: string[];
  /** Characters searched on each side of a match. @default 48 */
  keywordWindow?: number;
  /** @default 0.6 */
  confidence?: number;
  /** @default 0.9 */
  confidenceWithKeyword?: number;
  /** @default false */
  requireKeyword?: boolean;
  /** @default false */
  ignoreCase?: boolean;
  /** @default `Custom detector <type>` */
  description?: string;
}

/** A detector definition from a policy's spec; `compileDetectors` checks it. */
export function customDetector(spec: CustomDetectorSpec): DetectorDefinition {
  return {
    type: spec.type,
    description: spec.description ?? `Custom detector ${spec.type}`,
    pattern: spec.pattern,
    validator: spec.validator ?? ValidatorName.none,
    keywords: [...(spec.keywords ?? [])],
    keywordWindow: spec.keywordWindow ?? 48,
    confidence: spec.confidence ?? 0.6,
    confidenceWithKeyword: spec.confidenceWithKeyword ?? 0.9,
    requireKeyword: spec.requireKeyword ?? false,
    ignoreCase: spec.ignoreCase ?? false,
  };
}
