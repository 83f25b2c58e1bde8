// Verifying a Slack delivery: x-slack-signature = "v0=" + hex HMAC-SHA256(signing secret,
// "v0:" + x-slack-request-timestamp + ":" + raw body), with the timestamp near our clock.
// https://docs.slack.dev/authentication/verifying-requests-from-slack
import { createHmac, timingSafeEqual } from "node:crypto";
import type { InboundRequest } from "../types.ts";

export const SLACK_SIGNATURE_VERSION = "v0";
const SIGNATURE_HEADER = "x-slack-signature";
const TIMESTAMP_HEADER = "x-slack-request-timestamp";
// Digits only: Number() would also take " 1e3", "0x10" and "".
const UNIX_SECONDS = /^\d{1,15}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/i;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Hex HMAC-SHA256 of `v0:{timestamp}:{body}`; bytes are accepted so we sign exactly what arrived. */
export function computeSlackSignature(
  secret: string,
  timestamp: string,
  rawBody: string | Uint8Array,
): string {
  const mac = createHmac("sha256", secret).update(`${SLACK_SIGNATURE_VERSION}:${timestamp}:`).update(rawBody);
  return `${SLACK_SIGNATURE_VERSION}=${mac.digest("hex")}`;
}

/** The one value of a header, looked up case-insensitively; null when absent or sent more than once. */
export function singleHeader(headers: InboundRequest["headers"], name: string): string | null {
  let found: string | null = null;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const values = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    for (const one of values) {
      if (typeof one !== "string" || found !== null) return null;
      found = one;
    }
  }
  return found;
}

/**
 * Checks a delivery's signature and timestamp. The reason names what failed, never the secret or
 * the expected signature. Never throws.
 */
export function verifySlackSignature(
  secret: string,
  request: InboundRequest,
  nowMs: number,
  maxClockSkewSeconds: number,
): SignatureCheck {
  const timestamp = singleHeader(request.headers, TIMESTAMP_HEADER);
  const signature = singleHeader(request.headers, SIGNATURE_HEADER);
  if (timestamp === null) return { ok: false, reason: `missing or repeated ${TIMESTAMP_HEADER} header` };
  if (signature === null) return { ok: false, reason: `missing or repeated ${SIGNATURE_HEADER} header` };
  if (!UNIX_SECONDS.test(timestamp)) return { ok: false, reason: `malformed ${TIMESTAMP_HEADER} header` };
  const skewSeconds = Math.abs(nowMs / 1000 - Number(timestamp));
  // Written as a negation so a NaN clock rejects rather than accepts.
  if (!(skewSeconds <= maxClockSkewSeconds)) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} is more than ${maxClockSkewSeconds} s from our clock` };
  }
  if (!SIGNATURE.test(signature)) return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header` };
  if (secret.length === 0) return { ok: false, reason: "no signing secret configured" };

  const expected = Buffer.from(computeSlackSignature(secret, timestamp, request.rawBody).slice(3), "hex");
  const given = Buffer.from(signature.slice(3), "hex");
  // timingSafeEqual throws on a length mismatch; the pattern above already fixes the length.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: `${SIGNATURE_HEADER} does not match the body` };
  }
  return { ok: true };
}
