// Reading a receiver's answer: Retry-After, the external id, and a redacted snippet for error messages.

export const DEFAULT_RETRY_AFTER_MS = 1000;
/** The most of a response body an error message quotes. */
export const SNIPPET_MAX_CHARS = 200;
const MAX_EXTERNAL_ID_CHARS = 512;

/**
 * Milliseconds to wait from a Retry-After value: delay-seconds or an HTTP date.
 * Absent or unparseable values give `fallbackMs`; a date in the past gives 0.
 */
export function parseRetryAfterMs(
  header: string | null,
  nowMs: number,
  fallbackMs: number = DEFAULT_RETRY_AFTER_MS,
): number {
  if (header === null) return fallbackMs;
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isSafeInteger(ms) ? ms : fallbackMs;
  }
  // Every HTTP-date form names its month; without this, Date.parse("1.5") would read a year.
  if (!/[a-z]/i.test(value)) return fallbackMs;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : fallbackMs;
}

/** The receiver's `id` when it answered JSON with a usable string id, else null. */
export function externalIdFrom(body: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || !("id" in parsed)) return null;
  const id = parsed.id;
  return typeof id === "string" && id.length > 0 && id.length <= MAX_EXTERNAL_ID_CHARS ? id : null;
}

/**
 * A one-line quote of a response body for an error message: every occurrence of `secrets` is replaced
 * (receivers may echo what we sent), then it is cut to `SNIPPET_MAX_CHARS`.
 */
export function redactedSnippet(body: string, secrets: readonly string[]): string {
  const oneLine = (s: string): string => s.replace(/[\s\p{Cc}]+/gu, " ").trim();
  // Redacts before and after folding whitespace, since folding could rebuild a secret spread over lines.
  const text = redact(oneLine(redact(body, secrets)), secrets.map(oneLine));
  if (text.length <= SNIPPET_MAX_CHARS) return text;
  // Do not leave half of a surrogate pair at the cut.
  return `${text.slice(0, SNIPPET_MAX_CHARS).replace(/[\uD800-\uDBFF]$/, "")}…`;
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join("[redacted]");
  }
  return out;
}
