// The built-in detector pack: one declarative entry per type. Patterns only find candidates;
// validators (checksums, dates, ranges) decide. Every pattern is linear: no quantified group whose
// body can match in more than one way, and every open-ended repetition is bounded.
import { ValidatorName, type DetectorDefinition } from "./types.ts";

export const builtinDetectorTypes = [
  "payment-card",
  "cn-resident-id",
  "iban",
  "us-ssn",
  "cn-passport",
  "private-key",
  "aws-access-key",
  "github-token",
  "slack-token",
  "stripe-live-key",
  "password-assignment",
  "email",
  "phone",
  "ip-address",
] as const;
export type BuiltinDetectorType = (typeof builtinDetectorTypes)[number];

/**
 * Letters and digits of scripts written with spaces between words. A match must not touch one:
 * "4111111111111111" inside a longer number or "ghp_..." inside a word is not a match, while
 * Chinese or Japanese text directly around a number is a fine boundary ("卡号4111111111111111请").
 */
const ALNUM = String.raw`\p{Nd}\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}`;
/** Not preceded / not followed by a letter or digit. */
const NUM_START = `(?<![${ALNUM}])`;
const NUM_END = `(?![${ALNUM}])`;
/** The same for tokens, where "_" also continues a word. */
const WORD_START = `(?<![${ALNUM}_])`;
const WORD_END = `(?![${ALNUM}_])`;

const KEY_KIND = "(?:(?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY|PGP PRIVATE KEY BLOCK)";

function define(
  type: BuiltinDetectorType,
  fields: Omit<DetectorDefinition, "type" | "keywordWindow" | "requireKeyword" | "keywords"> &
    Partial<Pick<DetectorDefinition, "keywordWindow" | "requireKeyword" | "keywords">>,
): DetectorDefinition {
  const definition: DetectorDefinition = {
    type,
    keywords: [],
    keywordWindow: 48,
    requireKeyword: false,
    ...fields,
  };
  Object.freeze(definition.keywords);
  if (definition.prefilter) Object.freeze(definition.prefilter.anyOf);
  Object.freeze(definition.prefilter);
  Object.freeze(definition.partialMatch);
  return Object.freeze(definition);
}

export const builtinDetectors: Readonly<Record<BuiltinDetectorType, DetectorDefinition>> = Object.freeze({
  "payment-card": define("payment-card", {
    description:
      "Payment card number (Visa, Mastercard, Amex, UnionPay, JCB, Discover): issuer prefix and length, Luhn",
    // Unbroken, or grouped by one kind of separator: 4-4-4-4, 4-4-4-4-1..3, 4-4-4-1..3, 4-6-5.
    pattern:
      `${NUM_START}(?:\\d{13,19}|\\d{4}([ -])(?:\\d{6}\\1\\d{5}|\\d{4}\\1\\d{4}\\1\\d{1,4}(?:\\1\\d{1,3})?))` +
      NUM_END,
    validator: ValidatorName.paymentCard,
    keywords: ["card", "credit", "debit", "visa", "mastercard", "amex", "卡号", "信用卡", "银行卡"],
    confidence: 0.85,
    confidenceWithKeyword: 0.99,
    prefilter: { minDigits: 13 },
  }),
  "cn-resident-id": define("cn-resident-id", {
    description: "PRC resident identity number (GB 11643-1999): province, birth date, MOD 11-2 check",
    pattern: `${NUM_START}[1-9]\\d{16}[\\dXx]${NUM_END}`,
    validator: ValidatorName.cnResidentId,
    keywords: ["身份证", "身份证号", "公民身份", "ID card", "identity", "ID number"],
    confidence: 0.9,
    confidenceWithKeyword: 0.99,
    prefilter: { minDigits: 17 },
  }),
  iban: define("iban", {
    description: "International bank account number (ISO 13616): country length, MOD 97-10 check",
    // Unbroken, or in space-separated groups of four; a trailing shorter group ends it.
    pattern:
      `${NUM_START}[A-Z]{2}\\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)` + NUM_END,
    validator: ValidatorName.iban,
    keywords: ["iban", "account", "bank", "transfer", "账号", "账户", "银行", "汇款", "转账"],
    confidence: 0.85,
    confidenceWithKeyword: 0.99,
    prefilter: { minDigits: 2 },
  }),
  "us-ssn": define("us-ssn", {
    description: "US social security number, AAA-GG-SSSS, with an area, group and serial that can be issued",
    pattern: `(?<![${ALNUM}]|\\d-)\\d{3}-\\d{2}-\\d{4}(?![${ALNUM}]|-\\d)`,
    validator: ValidatorName.usSsn,
    keywords: ["ssn", "social security", "社会安全号"],
    confidence: 0.7,
    confidenceWithKeyword: 0.95,
    prefilter: { minDigits: 9, anyOf: ["-"] },
  }),
  "cn-passport": define("cn-passport", {
    description:
      "PRC passport number (E or G and 8 digits, or E, a letter and 7 digits), only near a keyword",
    pattern: `${NUM_START}(?:[EG]\\d{8}|E[A-HJ-NP-Z]\\d{7})${NUM_END}`,
    validator: ValidatorName.none,
    keywords: ["护照", "passport"],
    confidence: 0.8,
    confidenceWithKeyword: 0.95,
    requireKeyword: true,
    prefilter: { minDigits: 7 },
  }),
  "private-key": define("private-key", {
    description: "PEM or PGP private key block; a BEGIN line followed by base64 alone is a partial match",
    // The body cannot cross a run of five dashes, so each BEGIN line scans at most to the next one.
    pattern:
      `-----BEGIN ${KEY_KIND}-----(?:(?:[^-]|-(?!----)){1,20000}-----END ${KEY_KIND}-----` +
      `|(?<partial>\\s{1,4}[A-Za-z0-9+/]{16}(?:[A-Za-z0-9+/=\\r\\n]{0,20000}[A-Za-z0-9+/=])?))`,
    validator: ValidatorName.none,
    confidence: 0.99,
    confidenceWithKeyword: 0.99,
    partialMatch: { group: "partial", confidence: 0.85 },
    prefilter: { anyOf: ["-----BEGIN "] },
  }),
  "aws-access-key": define("aws-access-key", {
    description: "AWS access key id (AKIA long-term, ASIA temporary) and 16 base32 characters",
    pattern: `${WORD_START}(?:AKIA|ASIA)[A-Z2-7]{16}${WORD_END}`,
    validator: ValidatorName.none,
    keywords: ["aws", "access key", "secret", "密钥"],
    confidence: 0.95,
    confidenceWithKeyword: 0.99,
    prefilter: { anyOf: ["AKIA", "ASIA"] },
  }),
  "github-token": define("github-token", {
    description: "GitHub token: ghp_/gho_/ghu_/ghs_/ghr_ and 36+ characters, or a fine-grained github_pat_",
    pattern: `${WORD_START}(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{40,244})${WORD_END}`,
    validator: ValidatorName.none,
    keywords: ["github", "token", "令牌"],
    confidence: 0.95,
    confidenceWithKeyword: 0.99,
    prefilter: { anyOf: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] },
  }),
  "slack-token": define("slack-token", {
    description: "Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-) with a numeric team or user id group",
    pattern: `${WORD_START}xox[bpars]-[0-9A-Za-z-]{10,250}${WORD_END}`,
    validator: ValidatorName.slackToken,
    keywords: ["slack", "token", "令牌"],
    confidence: 0.9,
    confidenceWithKeyword: 0.99,
    prefilter: { anyOf: ["xox"] },
  }),
  "stripe-live-key": define("stripe-live-key", {
    description: "Stripe live secret or restricted key (sk_live_, rk_live_) and 24+ characters",
    pattern: `${WORD_START}[sr]k_live_[0-9A-Za-z]{24,247}${WORD_END}`,
    validator: ValidatorName.none,
    keywords: ["stripe", "secret", "api key", "密钥"],
    confidence: 0.95,
    confidenceWithKeyword: 0.99,
    prefilter: { anyOf: ["k_live_"] },
  }),
  "password-assignment": define("password-assignment", {
    description:
      'A password given in text ("password: ...", "pwd=...", "密码是..."); the value is reported, placeholders are not',
    // The keyword, an optional closing quote (JSON, YAML), ":" "=" "：" "is" "是" "为", an optional
    // opening quote, then the value: no spaces, quotes, Chinese characters or Chinese punctuation.
    pattern:
      `(?:password|passwd|pwd|密码)["']?(?:\\s{0,3}[:=：]|\\s{1,3}is(?:\\s{0,3}[:=：])?(?=\\s)|\\s{0,3}[是为][:：]?)` +
      `\\s{0,3}["'“‘]?(?<value>[^\\s"'“”‘’\\p{Script=Han}\\u3000-\\u303F\\uFF01-\\uFF0F\\uFF1A-\\uFF20]{4,256})`,
    validator: ValidatorName.passwordValue,
    keywords: ["login", "user", "username", "account", "登录", "账号", "用户名"],
    confidence: 0.85,
    confidenceWithKeyword: 0.95,
    ignoreCase: true,
    prefilter: { anyOf: ["pass", "pwd", "密码"] },
  }),
  email: define("email", {
    description: "E-mail address",
    // The ASCII look-behind first: it rejects most positions before the Unicode one runs. A local
    // part starts after a dot only when that dot is not part of it ("...alice@" is not matched).
    pattern:
      `(?<![A-Za-z0-9_.%+-])(?<![${ALNUM}])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}` +
      `@[A-Za-z0-9.-]{1,253}\\.[A-Za-z]{2,24}(?![${ALNUM}_-])`,
    validator: ValidatorName.email,
    keywords: ["email", "e-mail", "mail", "邮箱", "邮件"],
    confidence: 0.9,
    confidenceWithKeyword: 0.95,
    prefilter: { anyOf: ["@"], pattern: "[A-Za-z0-9_%+-]@[A-Za-z0-9]" },
  }),
  phone: define("phone", {
    description: "Phone number: international +CC with 8–15 digits, or a Chinese mobile number",
    pattern:
      `(?<![${ALNUM}_+-])(?:\\+[1-9][\\d .()-]{6,24}\\d|1[3-9]\\d([ -]?)\\d{4}\\1\\d{4})` +
      `(?![${ALNUM}_]|-\\d)`,
    validator: ValidatorName.phone,
    keywords: ["phone", "tel", "mobile", "call", "电话", "手机", "联系"],
    confidence: 0.6,
    confidenceWithKeyword: 0.85,
    weak: true,
    prefilter: { minDigits: 8 },
  }),
  "ip-address": define("ip-address", {
    description: "IPv4 address (octets 0–255) or IPv6 address (no embedded IPv4)",
    // Each branch consumes its first character before looking behind it (ASCII class first): a
    // pattern that starts with a look-around is tried at every position, several times slower.
    pattern:
      `\\d(?<![${ALNUM}]\\d|\\d\\.\\d)\\d{0,2}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}(?![${ALNUM}]|\\.\\d)` +
      `|[0-9A-Fa-f:](?<![0-9A-Za-z:].)(?<![${ALNUM}].)[0-9A-Fa-f]{0,3}:[0-9A-Fa-f:]{1,38}(?![${ALNUM}:])`,
    validator: ValidatorName.ipAddress,
    keywords: ["ip", "server", "host", "地址", "服务器", "主机"],
    confidence: 0.7,
    confidenceWithKeyword: 0.9,
    weak: true,
    // Four dotted numbers, "::", or four colon-separated hex groups (not "10:30:45").
    prefilter: {
      pattern: String.raw`\d\.\d{1,3}\.\d{1,3}\.\d|::|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:`,
    },
  }),
});
