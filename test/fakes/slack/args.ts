// Reading Web API arguments that arrive as form strings or as typed JSON values.
// https://docs.slack.dev/apis/web-api/ (form bodies carry strings; JSON bodies carry typed values)
import type { MessageMetadata } from "./types.ts";

export type Args = Readonly<Record<string, unknown>>;

/** Marks an argument that was present but not valid JSON of the expected shape. */
export const INVALID = Symbol("invalid argument");

export function stringArg(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Slack reads true, "true" and "1" as true. */
export function booleanArg(args: Args, key: string): boolean {
  const value = args[key];
  return value === true || value === 1 || value === "true" || value === "1";
}

export function integerArg(args: Args, key: string): number | undefined {
  const value = stringArg(args, key);
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/** A structured argument: already an object in JSON bodies, a JSON string in form bodies. */
export function jsonArg(args: Args, key: string): unknown {
  const value = args[key];
  if (typeof value !== "string") return value;
  if (value === "") return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return INVALID;
  }
}

/** Blocks or attachments make `text` optional. */
export function hasBlocks(args: Args): boolean {
  for (const key of ["blocks", "attachments"]) {
    const value = jsonArg(args, key);
    if (Array.isArray(value) && value.length > 0) return true;
  }
  return false;
}

/**
 * https://docs.slack.dev/messaging/message-metadata — `{event_type, event_payload}`; undefined when
 * absent, INVALID when malformed.
 */
export function metadataArg(args: Args): MessageMetadata | undefined | typeof INVALID {
  const value = jsonArg(args, "metadata");
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || typeof value.event_type !== "string" || value.event_type === "") return INVALID;
  if (!isRecord(value.event_payload)) return INVALID;
  return { event_type: value.event_type, event_payload: value.event_payload };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
