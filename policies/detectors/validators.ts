// Pure checks a candidate match must pass beyond its pattern: checksums, dates, ranges, formats.
// Each takes the matched text and answers yes or no; none throws on any string.
import { ValidatorName } from "./types.ts";

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigitCode(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

function allDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigitCode(s.charCodeAt(i))) return false;
  return s.length > 0;
}

/**
 * The digits of a number written in groups ("4111 1111 1111 1111", "4111-1111-..."): one kind of
 * separator, single, between digits. Returns the digit count and the first group's length, or
 * null for any other character or layout. Allocates nothing: it runs on every candidate.
 */
function readGroups(candidate: string, separators: string): { digits: number; firstGroup: number } | null {
  let separator = -1;
  let digits = 0;
  let firstGroup = -1;
  let run = 0;
  for (let i = 0; i < candidate.length; i++) {
    const code = candidate.charCodeAt(i);
    if (isDigitCode(code)) {
      digits++;
      run++;
    } else if (
      run > 0 &&
      (separator === -1 ? separators.includes(candidate.charAt(i)) : code === separator)
    ) {
      separator = code;
      if (firstGroup < 0) firstGroup = run;
      run = 0;
    } else {
      return null;
    }
  }
  if (run === 0) return null;
  return { digits, firstGroup: firstGroup < 0 ? run : firstGroup };
}

/** The Luhn sum of the digits of a string, skipping everything else. */
function luhnSum(candidate: string): number {
  let sum = 0;
  let double = false;
  for (let i = candidate.length - 1; i >= 0; i--) {
    let v = candidate.charCodeAt(i) - DIGIT_0;
    if (v < 0 || v > 9) continue;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    double = !double;
  }
  return sum;
}

/** The Luhn (mod 10) checksum over the digits; single spaces or dashes between groups are allowed. */
export function luhn(candidate: string): boolean {
  const groups = readGroups(candidate, " -");
  return groups !== null && groups.digits >= 2 && luhnSum(candidate) % 10 === 0;
}

/** The card schemes we recognise, by prefix range, with their valid lengths. */
const CARD_ISSUERS: readonly {
  name: string;
  prefixes: readonly [number, number][];
  lengths: readonly number[];
}[] = [
  { name: "visa", prefixes: [[4, 4]], lengths: [13, 16, 19] },
  {
    name: "mastercard",
    prefixes: [
      [51, 55],
      [2221, 2720],
    ],
    lengths: [16],
  },
  {
    name: "amex",
    prefixes: [
      [34, 34],
      [37, 37],
    ],
    lengths: [15],
  },
  { name: "unionpay", prefixes: [[62, 62]], lengths: [16, 17, 18, 19] },
  { name: "jcb", prefixes: [[3528, 3589]], lengths: [16, 17, 18, 19] },
  {
    name: "discover",
    prefixes: [
      [6011, 6011],
      [644, 649],
      [65, 65],
    ],
    lengths: [16, 17, 18, 19],
  },
];

/** The number formed by the first `count` digits of a string, skipping separators. */
function leadingDigits(candidate: string, count: number): number {
  let value = 0;
  for (let i = 0; i < candidate.length && count > 0; i++) {
    const v = candidate.charCodeAt(i) - DIGIT_0;
    if (v < 0 || v > 9) continue;
    value = value * 10 + v;
    count--;
  }
  return value;
}

function issuerAccepts(candidate: string, length: number): boolean {
  for (const issuer of CARD_ISSUERS) {
    if (!issuer.lengths.includes(length)) continue;
    for (const [low, high] of issuer.prefixes) {
      const prefix = leadingDigits(candidate, low < 10 ? 1 : low < 100 ? 2 : low < 1000 ? 3 : 4);
      if (prefix >= low && prefix <= high) return true;
    }
  }
  return false;
}

/**
 * A payment card number: 13–19 digits (optionally in groups split by single spaces or by single
 * dashes, the first group of four), a known issuer prefix with one of its lengths, Luhn-valid.
 */
export function paymentCard(candidate: string): boolean {
  const groups = readGroups(candidate, " -");
  if (groups === null || groups.digits < 13 || groups.digits > 19) return false;
  if (groups.firstGroup !== groups.digits && groups.firstGroup !== 4) return false;
  return issuerAccepts(candidate, groups.digits) && luhnSum(candidate) % 10 === 0;
}

/** Province-level codes of GB/T 2260 that begin a resident ID number. */
export const CN_PROVINCE_CODES: ReadonlySet<number> = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61,
  62, 63, 64, 65, 71, 81, 82, 91,
]);
const CN_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK = "10X98765432";

/** The ISO 7064 MOD 11-2 check character (GB 11643-1999) for the first 17 digits of a resident ID. */
export function cnResidentIdCheckChar(first17: string): string {
  if (first17.length !== 17 || !allDigits(first17)) throw new RangeError("expected 17 digits");
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - DIGIT_0) * (CN_ID_WEIGHTS[i] ?? 0);
  return CN_ID_CHECK.charAt(sum % 11);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A real calendar date from 1900-01-01 up to `now` (local time), given as YYYYMMDD. */
function isPastDate(yyyymmdd: string, now: Date): boolean {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  const today = now.getFullYear() * 10_000 + (now.getMonth() + 1) * 100 + now.getDate();
  return year * 10_000 + month * 100 + day <= today;
}

/**
 * A PRC resident identity number (GB 11643-1999, 18 characters): a province code, a birth date
 * that exists and is not in the future, and the MOD 11-2 check character (X or x for ten).
 */
export function cnResidentId(candidate: string, now: Date = new Date()): boolean {
  if (candidate.length !== 18) return false;
  const first17 = candidate.slice(0, 17);
  if (!allDigits(first17)) return false;
  if (!CN_PROVINCE_CODES.has(Number(first17.slice(0, 2)))) return false;
  if (!isPastDate(first17.slice(6, 14), now)) return false;
  return candidate.charAt(17).toUpperCase() === cnResidentIdCheckChar(first17);
}

/** IBAN length by ISO 3166 country code (SWIFT IBAN registry). */
// prettier-ignore
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22,
  GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27,
  MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24,
  XK: 20,
};

/** Folds the letters and digits of s[from, to) into a remainder mod 97, letters as 10..35; -1 on others. */
function mod97(s: string, from: number, to: number, remainder: number): number {
  for (let i = from; i < to; i++) {
    const code = s.charCodeAt(i);
    if (isDigitCode(code)) remainder = (remainder * 10 + (code - DIGIT_0)) % 97;
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + (code - 55)) % 97;
    else if (code >= 97 && code <= 122) remainder = (remainder * 100 + (code - 87)) % 97;
    else if (code !== 32) return -1;
  }
  return remainder;
}

/** The two ISO 7064 MOD 97-10 check digits of an IBAN for a country and a BBAN. */
export function ibanCheckDigits(country: string, bban: string): string {
  const rearranged = bban + country + "00";
  const remainder = mod97(rearranged, 0, rearranged.length, 0);
  if (remainder < 0 || /\s/.test(rearranged)) throw new RangeError("expected letters and digits");
  return String(98 - remainder).padStart(2, "0");
}

/**
 * An IBAN (ISO 13616): a known country with its length, two check digits, mod 97 equal to 1.
 * Either unbroken or in groups of four split by single spaces (the last group may be shorter).
 */
export function iban(candidate: string): boolean {
  // One pass for the layout and the length before any arithmetic: most candidates fail here.
  let length = 0;
  let run = 0;
  for (let i = 0; i < candidate.length; i++) {
    if (candidate.charCodeAt(i) === 32) {
      if (run !== 4) return false;
      run = 0;
    } else {
      length++;
      run++;
    }
  }
  if (run === 0 || length < 5 || IBAN_LENGTHS[candidate.slice(0, 2).toUpperCase()] !== length) return false;
  const check = candidate.slice(2, 4);
  if (!allDigits(check) || check === "00" || check === "01" || check === "99") return false;
  // Country and check digits move to the end: BBAN, then the first four characters.
  const bban = mod97(candidate, 4, candidate.length, 0);
  return bban >= 0 && mod97(candidate, 0, 4, bban) === 1;
}

/** Numbers the SSA voided after they were printed in advertising and so circulate widely. */
const PUBLISHED_SSNS = new Set(["078-05-1120", "219-09-9999"]);

/** A US social security number as AAA-GG-SSSS with an area, group and serial that can be issued. */
export function usSsn(candidate: string): boolean {
  if (!/^\d{3}-\d{2}-\d{4}$/.test(candidate) || PUBLISHED_SSNS.has(candidate)) return false;
  const area = Number(candidate.slice(0, 3));
  return (
    area !== 0 && area !== 666 && area < 900 && candidate.slice(4, 6) !== "00" && !candidate.endsWith("0000")
  );
}

/** An e-mail address: a dot-atom local part and a DNS name with an alphabetic top-level label. */
export function emailAddress(candidate: string): boolean {
  const at = candidate.lastIndexOf("@");
  if (at < 1 || at > 64) return false;
  const local = candidate.slice(0, at);
  if (!/^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*$/.test(local)) return false;
  const domain = candidate.slice(at + 1);
  if (domain.length > 253) return false;
  const labels = domain.split(".");
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) return false;
  }
  return /^[A-Za-z]{2,24}$/.test(labels[labels.length - 1] ?? "");
}

function ipv4(candidate: string): boolean {
  const octets = candidate.split(".");
  if (octets.length !== 4) return false;
  // Leading zeros are refused: "010" reads as octal in some tools, and dotted numbers with them are
  // rarely addresses.
  return octets.every((o) => /^(?:0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255);
}

function ipv6(candidate: string): boolean {
  const halves = candidate.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const all = groups.flat();
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? all.length >= 1 && all.length <= 7 : all.length === 8;
}

/** An IPv4 address (four decimal octets 0–255) or an IPv6 address (hex groups, "::" once at most). */
export function ipAddress(candidate: string): boolean {
  return candidate.includes(":") ? ipv6(candidate) : ipv4(candidate);
}

/**
 * A phone number: "+" and a country code with 8–15 digits in all (ITU-T E.164), spaces, dots,
 * dashes or one pair of parentheses between them; or a Chinese mobile number 1[3-9] + 9 digits,
 * possibly written 3-4-4.
 */
export function phoneNumber(candidate: string): boolean {
  if (candidate.startsWith("+")) {
    const body = candidate.slice(1);
    if (!/^[1-9][\d .()-]*\d$/.test(body) || /[ .()-]{3}/.test(body)) return false;
    const open = body.split("(").length - 1;
    const close = body.split(")").length - 1;
    if (open !== close || open > 1 || (open === 1 && body.indexOf("(") > body.indexOf(")"))) return false;
    const digits = body.replace(/\D/g, "").length;
    return digits >= 8 && digits <= 15;
  }
  return /^1[3-9]\d(?:\d{8}|( |-)\d{4}\1\d{4})$/.test(candidate);
}

/**
 * Values that stand for a password rather than being one. Lower case, compared after trimming
 * trailing punctuation. Prose after "password is" ("incorrect", "required") belongs here too.
 */
const PASSWORD_PLACEHOLDERS = new Set([
  "changeme",
  "change_me",
  "change-me",
  "redacted",
  "removed",
  "hidden",
  "masked",
  "placeholder",
  "example",
  "your_password",
  "yourpassword",
  "your-password",
  "mypassword",
  "password",
  "passwd",
  "none",
  "null",
  "undefined",
  "empty",
  "blank",
  "required",
  "optional",
  "incorrect",
  "correct",
  "wrong",
  "invalid",
  "expired",
  "missing",
  "reset",
  "changed",
  "updated",
  "same",
  "different",
  "strong",
  "weak",
  "secure",
  "protected",
  "encrypted",
  "needed",
  "not_set",
  "unset",
  "tbd",
  "todo",
  "n/a",
]);

/** "<password>", "[secret]", "{{ pw }}", "${DB_PASS}", "%DB_PASS%", "$DB_PASS" (upper case only). */
const PASSWORD_TEMPLATE =
  /^(?:<[^>]*>|\[[^\]]*\]|\{\{.*\}\}|\$\{[^}]*\}|%[A-Za-z_][A-Za-z0-9_]*%|\$[A-Z_][A-Z0-9_]*)$/u;

/**
 * A password value that is not a placeholder: at least 4 characters once trailing punctuation is
 * trimmed, not a mask ("****", "xxxx", "••••", the same character repeated), not a template or a
 * reference ("<password>", "{{pw}}", "${DB_PASS}", "$DB_PASS", "%PASS%") and not a word from a
 * small list ("changeme", "redacted", "incorrect", ...).
 */
export function passwordValue(candidate: string): boolean {
  if (PASSWORD_TEMPLATE.test(candidate)) return false;
  const value = candidate.replace(/[.,;:!?)\]}]+$/u, "");
  if ([...value].length < 4 || PASSWORD_TEMPLATE.test(value)) return false;
  if (/^[*xX•·●.#_?-]+$/u.test(value) || /^(.)\1+$/u.test(value)) return false;
  return !PASSWORD_PLACEHOLDERS.has(value.toLowerCase());
}

/**
 * A Slack token body: after the "xox?-" prefix, at least 10 characters of letters, digits and
 * dashes, one of the dash-separated groups all digits and at least 6 long (the team or user id).
 */
export function slackToken(candidate: string): boolean {
  const match = /^xox[bpars]-([0-9A-Za-z-]{10,})$/.exec(candidate);
  if (match === null) return false;
  return (match[1] ?? "").split("-").some((group) => group.length >= 6 && allDigits(group));
}

/** The validators by name; custom detectors choose one of these. Frozen: nothing can swap one out. */
export const validators: Record<ValidatorName, (candidate: string) => boolean> = Object.freeze({
  [ValidatorName.luhn]: luhn,
  [ValidatorName.paymentCard]: paymentCard,
  [ValidatorName.cnResidentId]: (candidate) => cnResidentId(candidate),
  [ValidatorName.iban]: iban,
  [ValidatorName.usSsn]: usSsn,
  [ValidatorName.email]: emailAddress,
  [ValidatorName.ipAddress]: ipAddress,
  [ValidatorName.phone]: phoneNumber,
  [ValidatorName.passwordValue]: passwordValue,
  [ValidatorName.slackToken]: slackToken,
  [ValidatorName.none]: () => true,
});
