// Compiles detector definitions once into a DetectorSet, and scans text with it: cheap prefilters
// first, then one regex pass per detector that can match, then validators, keywords and overlaps.
import { DetectorCompileError } from "./errors.ts";
import type { Detection, DetectorDefinition, DetectorSet } from "./types.ts";
import { validators } from "./validators.ts";

/** Validated matches kept per detector and scan; more add nothing once a detector has fired. */
/** A scan reports at most this many matches of one type; more may be in the text. */
export const MAX_MATCHES_PER_DETECTOR = 1000;
/** Shorter candidates tried, at separators, when a match fails its validator. */
const MAX_BACKOFF_TRIES = 4;
/** Strings on which a pattern must not produce an empty match. */
const EMPTY_MATCH_PROBES = ["", " ", "a", "0", "_", "aA0_-.:@ \n\t+/=中文", "\u{1F600}x", "-----"];

interface CompiledDetector {
  readonly type: string;
  /** The pattern with the `g` flag (and `d` when it reports a `value` group). */
  readonly regex: RegExp;
  /** The pattern with the `y` flag, to retry a shorter candidate at the same start. */
  readonly sticky: RegExp | null;
  readonly valueGroup: boolean;
  readonly validate: (candidate: string) => boolean;
  readonly keywords: RegExp | null;
  readonly keywordWindow: number;
  readonly confidence: number;
  readonly confidenceWithKeyword: number;
  readonly requireKeyword: boolean;
  readonly weak: boolean;
  readonly partialGroup: string | null;
  readonly partialConfidence: number;
  readonly minDigits: number;
  /** The prefilter's `anyOf`: a single literal is found with `includes`, several with one regex. */
  readonly anyOfLiteral: string | null;
  readonly anyOfRegex: RegExp | null;
  readonly prefilterRegex: RegExp | null;
}

function escapeRegExp(literal: string): string {
  // Only the syntax characters: the `u` flag refuses needless escapes such as "\-".
  return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * One case-insensitive regex for a detector's keywords. A keyword that begins with a Latin letter
 * must begin a word ("tel" is not found in "hotel"), and one of three letters or fewer must be a
 * whole word ("ip" is not found in "iPhone"); Chinese keywords match anywhere.
 */
function keywordRegex(keywords: readonly string[]): RegExp {
  const alternatives = keywords.map((keyword) => {
    const escaped = escapeRegExp(keyword);
    if (!/^[A-Za-z]/.test(keyword)) return escaped;
    return `(?<![A-Za-z])${escaped}${keyword.length <= 3 ? "(?![A-Za-z])" : ""}`;
  });
  return new RegExp(alternatives.join("|"), "iu");
}

function isConfidence(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value <= 1;
}

function compileOne(definition: DetectorDefinition): CompiledDetector {
  const type = definition.type;
  const fail = (reason: string, cause?: unknown): never => {
    throw new DetectorCompileError(type, reason, cause === undefined ? undefined : { cause });
  };
  if (typeof definition.pattern !== "string" || definition.pattern === "") fail("the pattern is empty");
  const validate = Object.hasOwn(validators, definition.validator)
    ? validators[definition.validator]
    : fail(`unknown validator "${String(definition.validator)}"`);
  for (const [name, value] of [
    ["confidence", definition.confidence],
    ["confidenceWithKeyword", definition.confidenceWithKeyword],
  ] as const) {
    if (!isConfidence(value)) fail(`${name} must be a number from 0 to 1`);
  }
  if (!Number.isInteger(definition.keywordWindow) || definition.keywordWindow < 0) {
    fail("keywordWindow must be a non-negative integer");
  }
  const keywords = Array.isArray(definition.keywords) ? definition.keywords : fail("keywords must be a list");
  if (keywords.some((k) => typeof k !== "string" || k === "")) fail("keywords must be non-empty strings");
  if (definition.requireKeyword && keywords.length === 0) {
    fail("requireKeyword is set but there are no keywords");
  }

  const valueGroup = definition.pattern.includes("(?<value>");
  const caseFlag = definition.ignoreCase === true ? "i" : "";
  let regex: RegExp;
  let sticky: RegExp;
  try {
    regex = new RegExp(definition.pattern, `gu${caseFlag}${valueGroup ? "d" : ""}`);
    sticky = new RegExp(definition.pattern, `yu${caseFlag}`);
  } catch (error) {
    return fail(`invalid pattern: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  for (const probe of EMPTY_MATCH_PROBES) {
    regex.lastIndex = 0;
    for (let m = regex.exec(probe); m !== null; m = regex.exec(probe)) {
      if (m[0] === "") {
        fail(`the pattern can match the empty string (at offset ${m.index} of ${JSON.stringify(probe)})`);
      }
    }
  }
  regex.lastIndex = 0;

  const partial = definition.partialMatch;
  if (partial !== undefined) {
    if (!definition.pattern.includes(`(?<${partial.group}>`)) {
      fail(`no group named "${partial.group}" in the pattern`);
    }
    if (!isConfidence(partial.confidence)) fail("partialMatch.confidence must be a number from 0 to 1");
  }
  const prefilter = definition.prefilter ?? {};
  const minDigits = prefilter.minDigits ?? 0;
  if (!Number.isInteger(minDigits) || minDigits < 0) {
    fail("prefilter.minDigits must be a non-negative integer");
  }
  const anyOf = prefilter.anyOf ?? [];
  if (anyOf.some((s) => typeof s !== "string" || s === "")) {
    fail("prefilter.anyOf must hold non-empty strings");
  }
  const anyOfLiteral = anyOf.length === 1 && caseFlag === "" ? (anyOf[0] ?? null) : null;
  let prefilterRegex: RegExp | null = null;
  if (prefilter.pattern !== undefined) {
    try {
      prefilterRegex = new RegExp(prefilter.pattern, `u${caseFlag}`);
    } catch (error) {
      fail(`invalid prefilter pattern: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  return {
    type,
    regex,
    sticky: definition.validator === "none" || valueGroup ? null : sticky,
    valueGroup,
    validate,
    keywords: keywords.length > 0 ? keywordRegex(keywords) : null,
    keywordWindow: definition.keywordWindow,
    confidence: definition.confidence,
    confidenceWithKeyword: definition.confidenceWithKeyword,
    requireKeyword: definition.requireKeyword,
    weak: definition.weak === true,
    partialGroup: partial?.group ?? null,
    partialConfidence: partial?.confidence ?? definition.confidence,
    minDigits,
    anyOfLiteral,
    anyOfRegex:
      anyOf.length > 0 && anyOfLiteral === null
        ? new RegExp(anyOf.map(escapeRegExp).join("|"), `u${caseFlag}`)
        : null,
    prefilterRegex,
  };
}

const DIGIT = /\d/g;

/** Counts ASCII digits, stopping once `enough` are seen (a regex skips non-digits fastest). */
function countDigits(text: string, enough: number): number {
  DIGIT.lastIndex = 0;
  let count = 0;
  while (count < enough && DIGIT.test(text)) count++;
  return count;
}

function mayMatch(detector: CompiledDetector, text: string, digits: number): boolean {
  if (digits < detector.minDigits) return false;
  if (detector.anyOfLiteral !== null && !text.includes(detector.anyOfLiteral)) return false;
  if (detector.anyOfRegex !== null && !detector.anyOfRegex.test(text)) return false;
  if (detector.prefilterRegex !== null && !detector.prefilterRegex.test(text)) return false;
  return !detector.requireKeyword || detector.keywords === null || detector.keywords.test(text);
}

function isAsciiAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** A character that is neither a letter nor a number: where a shorter candidate may end. */
const SEPARATOR = /[^\p{L}\p{N}]/u;

/**
 * When a match fails its validator, tries shorter candidates at the same start that end just
 * before a separator inside the match, longest first: "4111 1111 1111 1111 123" (a card and its
 * CVV) fails as 19 digits and passes as 16. A shorter candidate must pass the validator and then
 * the pattern itself, on the text cut where the candidate ends. Returns its end, or -1.
 */
function backOff(
  detector: CompiledDetector,
  sticky: RegExp,
  text: string,
  start: number,
  end: number,
): number {
  let tries = 0;
  for (let cut = end - 1; cut > start && tries < MAX_BACKOFF_TRIES; cut--) {
    if (isAsciiAlnum(text.charCodeAt(cut)) || !isAsciiAlnum(text.charCodeAt(cut - 1))) continue;
    tries++;
    if (!detector.validate(text.slice(start, cut))) continue;
    sticky.lastIndex = start;
    const match = sticky.exec(text.slice(0, cut));
    if (match !== null && match[0] !== "" && detector.validate(match[0])) return start + match[0].length;
  }
  return -1;
}

function keywordNear(detector: CompiledDetector, text: string, start: number, end: number): boolean {
  const keywords = detector.keywords;
  if (keywords === null) return false;
  const window = detector.keywordWindow;
  return (
    keywords.test(text.slice(Math.max(0, start - window), start)) ||
    keywords.test(text.slice(end, end + window))
  );
}

function runDetector(detector: CompiledDetector, text: string, found: Detection[]): void {
  const regex = detector.regex;
  regex.lastIndex = 0;
  let accepted = 0;
  while (accepted < MAX_MATCHES_PER_DETECTOR) {
    const match = regex.exec(text);
    if (match === null) break;
    const matchStart = match.index;
    const matchEnd = matchStart + match[0].length;
    // A failed candidate may hide a valid one starting later inside it: resume one past its start.
    regex.lastIndex = matchStart + 1;
    if (matchEnd === matchStart) continue;
    let start = matchStart;
    let end = matchEnd;
    if (detector.valueGroup) {
      const span = match.indices?.groups?.["value"];
      if (span === undefined || span[1] <= span[0]) continue;
      [start, end] = span;
    }
    if (!detector.validate(text.slice(start, end))) {
      end =
        detector.sticky !== null && SEPARATOR.test(match[0])
          ? backOff(detector, detector.sticky, text, start, end)
          : -1;
      if (end < 0) continue;
    }
    regex.lastIndex = Math.max(detector.valueGroup ? matchEnd : end, matchStart + 1);
    const near = keywordNear(detector, text, start, end);
    if (detector.requireKeyword && !near) continue;
    const partial = detector.partialGroup !== null && match.groups?.[detector.partialGroup] !== undefined;
    const confidence = partial
      ? detector.partialConfidence
      : near
        ? detector.confidenceWithKeyword
        : detector.confidence;
    found.push({ type: detector.type, start, end, confidence });
    accepted++;
  }
}

function byTypeThenPosition(a: Detection, b: Detection): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.start - b.start || a.end - b.end;
}

function byPosition(a: Detection, b: Detection): number {
  return a.start - b.start || a.end - b.end || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
}

/** Drops weak detections that overlap a detection of a type that is not weak. */
function dropWeakOverlaps(found: Detection[], weakTypes: ReadonlySet<string>): Detection[] {
  // The union of the strong detections, as sorted disjoint intervals.
  const strong: [number, number][] = [];
  for (const d of found.filter((d) => !weakTypes.has(d.type)).sort(byPosition)) {
    const last = strong[strong.length - 1];
    if (last !== undefined && d.start < last[1]) last[1] = Math.max(last[1], d.end);
    else strong.push([d.start, d.end]);
  }
  const overlapsStrong = (d: Detection): boolean => {
    // The first strong interval that ends after d starts; d overlaps it if it starts before d ends.
    let low = 0;
    let high = strong.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((strong[mid]?.[1] ?? 0) <= d.start) low = mid + 1;
      else high = mid;
    }
    const candidate = strong[low];
    return candidate !== undefined && candidate[0] < d.end;
  };
  return found.filter((d) => !weakTypes.has(d.type) || !overlapsStrong(d));
}

/**
 * Drops weak detections that overlap a detection of a type that is not weak, merges overlapping
 * detections of one type (keeping the higher confidence), and sorts by position.
 */
export function settle(found: Detection[], weakTypes: ReadonlySet<string>): Detection[] {
  const kept = weakTypes.size > 0 ? dropWeakOverlaps(found, weakTypes) : found;
  kept.sort(byTypeThenPosition);
  const merged: Detection[] = [];
  for (const detection of kept) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === detection.type && detection.start < last.end) {
      last.end = Math.max(last.end, detection.end);
      last.confidence = Math.max(last.confidence, detection.confidence);
    } else {
      merged.push({ ...detection });
    }
  }
  return merged.sort(byPosition);
}

/**
 * Compiles detector definitions into a reusable DetectorSet. Throws DetectorCompileError, naming
 * the detector, on an invalid pattern, an unknown validator, a duplicate type, a pattern that can
 * match the empty string, or an out-of-range setting.
 */
export function compileDetectors(definitions: readonly DetectorDefinition[]): DetectorSet {
  const seen = new Set<string>();
  const compiled: CompiledDetector[] = [];
  for (const definition of definitions) {
    const type: unknown = definition.type;
    if (typeof type !== "string" || type === "") {
      throw new DetectorCompileError(String(type), "the type is empty");
    }
    if (seen.has(type)) throw new DetectorCompileError(type, "duplicate detector type");
    seen.add(type);
    compiled.push(compileOne(definition));
  }
  const types = Object.freeze(compiled.map((d) => d.type));
  const weakTypes = new Set(compiled.filter((d) => d.weak).map((d) => d.type));
  const digitsNeeded = Math.max(0, ...compiled.map((d) => d.minDigits));

  function scan(text: string): Detection[] {
    if (typeof text !== "string" || text.length === 0) return [];
    const found: Detection[] = [];
    try {
      const digits = digitsNeeded > 0 ? countDigits(text, digitsNeeded) : 0;
      for (const detector of compiled) {
        try {
          if (mayMatch(detector, text, digits)) runDetector(detector, text, found);
        } catch {
          // Fail closed: a detector that broke reports the whole text rather than nothing.
          found.push({ type: detector.type, start: 0, end: text.length, confidence: 1 });
        }
      }
      return settle(found, weakTypes);
    } catch {
      return types.map((type) => ({ type, start: 0, end: text.length, confidence: 1 }));
    }
  }

  return Object.freeze({ types, scan });
}
