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
  email: "email",
  ipAddress: "ip-address",
  phone: "phone",
  passwordValue: "password-value",
  slackToken: "slack-token",
  none: "none",
} as const;
export type ValidatorName = (typeof ValidatorName)[keyof typeof ValidatorName];

export interface DetectorDefinition {
  /** The detection type reported, e.g. "payment-card". */
  type: string;
  description: string;
  /**
   * Source of the regular expression (compiled with the `gu` flags by the scanner, plus `i` when
   * `ignoreCase`). When it has a named group `value`, the detection spans that group only and the
   * validator sees that group's text.
   */
  pattern: string;
  /** Checks a candidate match beyond the pattern (checksum, date, ranges). */
  validator: ValidatorName;
  /**
   * Words whose presence within `keywordWindow` characters raises confidence. Case-insensitive; a
   * keyword starting with a Latin letter must start a word, and one of up to three letters must be
   * a whole word. Chinese keywords match anywhere.
   */
  keywords: readonly string[];
  /** Characters searched on each side of a match for a keyword. @default 48 */
  keywordWindow: number;
  /** Confidence of a validated match without a keyword nearby, 0..1. */
  confidence: number;
  /** Confidence with a keyword nearby, 0..1. */
  confidenceWithKeyword: number;
  /** Report the match only when a keyword is nearby (e.g. passport numbers). */
  requireKeyword: boolean;
  /** Match letters case-insensitively (the `i` flag). @default false */
  ignoreCase?: boolean;
  /** Cheap checks that let the scanner skip the regular expression on text that cannot match. */
  prefilter?: DetectorPrefilter;
  /**
   * A weak type (phone, IP address) is dropped where it overlaps a detection of a type that is not
   * weak: the digits of a card number are not also a phone number. @default false
   */
  weak?: boolean;
  /**
   * A named group that marks a partial match (e.g. a PEM header without its END line); such a
   * match reports `confidence` instead of the detector's own.
   */
  partialMatch?: { group: string; confidence: number };
}

/** Conditions that every text the detector can match satisfies; all given ones must hold. */
export interface DetectorPrefilter {
  /** The text holds at least this many ASCII digits. */
  minDigits?: number;
  /** The text contains at least one of these strings (case-insensitively when `ignoreCase`). */
  anyOf?: readonly string[];
  /**
   * A regular expression the text matches somewhere (the `u` flag, plus `i` when `ignoreCase`):
   * a cheap necessary condition, e.g. "a character, @, a character" for e-mail addresses.
   */
  pattern?: string;
}

/** A set of detectors compiled once and reused for every scan. */
export interface DetectorSet {
  readonly types: readonly string[];
  /**
   * Every validated match, sorted by start offset. Never throws; never includes the matched text.
   * A detector that fails internally reports the whole text as its type, so callers fail closed.
   */
  scan(text: string): Detection[];
}
