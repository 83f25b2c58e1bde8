// Signing and verifying webhook deliveries: v1 = hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`).
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_VERSION = "v1";
/** How far a delivery's timestamp may be from the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/i;
// Digits only: `Number()` would also accept " 1e3", "0x10" and "".
const UNIX_SECONDS = /^\d{1,15}$/;

/** Hex HMAC-SHA256 over `${timestamp}.${rawBody}`; bytes are accepted so receivers sign exactly what arrived. */
export function computeWebhookSignature(
  secret: string,
  timestamp: string,
  rawBody: string | Uint8Array,
): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex");
}

/** The two header values a sender attaches to a delivery. */
export function signWebhookPayload(
  secret: string,
  timestampSeconds: number,
  rawBody: string | Uint8Array,
): { timestamp: string; signature: string } {
  const timestamp = String(Math.floor(timestampSeconds));
  return {
    timestamp,
    signature: `${SIGNATURE_VERSION}=${computeWebhookSignature(secret, timestamp, rawBody)}`,
  };
}

/**
 * True when `signatureHeader` holds a v1 signature of `rawBody` made with `secret` and the timestamp is
 * within `toleranceSeconds` of `nowMs`. Several comma-separated signatures are accepted (secret rotation).
 * Never throws: malformed input is simply not verified.
 */
export function verifyWebhookSignature(
  secret: string,
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  rawBody: string | Uint8Array,
  nowMs: number,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  if (secret.length === 0 || typeof timestampHeader !== "string" || typeof signatureHeader !== "string") {
    return false;
  }
  if (!UNIX_SECONDS.test(timestampHeader)) return false;
  const ageSeconds = Math.abs(nowMs / 1000 - Number(timestampHeader));
  // Written as a negation so a NaN clock or tolerance rejects rather than accepts.
  if (!(ageSeconds <= toleranceSeconds)) return false;

  const expected = Buffer.from(computeWebhookSignature(secret, timestampHeader, rawBody), "hex");
  let verified = false;
  for (const part of signatureHeader.split(",")) {
    const candidate = part.trim();
    if (!candidate.startsWith(`${SIGNATURE_VERSION}=`)) continue;
    const hex = candidate.slice(SIGNATURE_VERSION.length + 1);
    if (!HEX_SHA256.test(hex)) continue;
    // No early exit, so the time taken does not depend on which candidate matched.
    if (timingSafeEqual(Buffer.from(hex, "hex"), expected)) verified = true;
  }
  return verified;
}
