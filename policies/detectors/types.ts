// The shape of a detector: a declarative table entry the scanner runs. Built-in detectors and a
// policy's custom detectors compile to the same thing.
import type { Detection } from "../model.ts";

export type { Detection };

/** Names of the validators a detector may use; custom detectors pick from these by name. */
export const ValidatorName = {
  luhn: "luhn",
  paymentCard: "payment-card",
  cnResidentId: "cn-resident-id",
  iban: "iban",
  usSsn: "us-ssn",
  none: "none",
} as const;
export type ValidatorName = (typeof ValidatorName)[keyof typeof ValidatorName];

export interface DetectorDefinition {
  /** The detection type reported, e.g. "payment-card". */
  type: string;
  description: string;
  /** Source of the regular expression (compiled with the `gu` flags by the scanner). */
  pattern: string;
  /** Checks a candidate match beyond the pattern (checksum, date, ranges). */
  validator: ValidatorName;
  /** Words whose presence within `keywordWindow` characters raises confidence. */
  keywords: readonly string[];
  /** Characters searched on each side of a match for a keyword. @default 48 */
  keywordWindow: number;
  /** Confidence of a validated match without a keyword nearby, 0..1. */
  confidence: number;
  /** Confidence with a keyword nearby, 0..1. */
  confidenceWithKeyword: number;
  /** Report the match only when a keyword is nearby (e.g. passport numbers). */
  requireKeyword: boolean;
}

/** A set of detectors compiled once and reused for every scan. */
export interface DetectorSet {
  readonly types: readonly string[];
  /** Every validated match, sorted by start offset. Never throws; never includes the matched text. */
  scan(text: string): Detection[];
}
