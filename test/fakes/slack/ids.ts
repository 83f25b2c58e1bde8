// Random identifiers, tokens and secrets shaped like Slack's, fresh for every fake instance.
import { randomBytes, randomInt, randomUUID } from "node:crypto";

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const MIXED_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function pick(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function digits(length: number): string {
  return String(randomInt(1, 10)) + pick("0123456789", length - 1);
}

/** Object ids: a type letter, then upper-case letters and digits ("C0123ABCD"). */
export const newId = {
  team: () => `T0${pick(UPPER_ALNUM, 8)}`,
  channel: () => `C0${pick(UPPER_ALNUM, 7)}`,
  user: () => `U0${pick(UPPER_ALNUM, 8)}`,
  botUser: () => `U0BOT${pick(UPPER_ALNUM, 5)}`,
  bot: () => `B0${pick(UPPER_ALNUM, 8)}`,
  app: () => `A0${pick(UPPER_ALNUM, 8)}`,
  file: () => `F0${pick(UPPER_ALNUM, 8)}`,
  event: () => `Ev0${pick(UPPER_ALNUM, 8)}`,
} as const;

/** A bot token as Slack issues them: xoxb-<team>-<bot>-<secret>. */
export function newBotToken(): string {
  return `xoxb-${digits(12)}-${digits(13)}-${pick(MIXED_ALNUM, 24)}`;
}

/** A user token as Slack issues them: xoxp-<team>-<user>-<install>-<secret>. */
export function newUserToken(): string {
  return `xoxp-${digits(12)}-${digits(12)}-${digits(13)}-${randomBytes(16).toString("hex")}`;
}

/** An app's signing secret: 32 hex characters. */
export function newSigningSecret(): string {
  return randomBytes(16).toString("hex");
}

/** The deprecated verification token Slack still puts in every event envelope. */
export function newVerificationToken(): string {
  return pick(MIXED_ALNUM, 24);
}

/** Opaque part of an upload URL, unguessable like Slack's pre-signed ones. */
export function newUploadKey(): string {
  return randomBytes(18).toString("base64url");
}

export function newClientMsgId(): string {
  return randomUUID();
}

/** The url_verification challenge string. */
export function newChallenge(): string {
  return pick(MIXED_ALNUM, 48);
}
