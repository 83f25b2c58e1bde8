// The files a Slack message carries, as inbound events name them. A message's `files` holds file
// objects (https://docs.slack.dev/reference/objects/file-object): `id`, `name`, `size` in bytes, and
// `url_private_download` / `url_private`, which need the bot token as "Authorization: Bearer" and the
// files:read scope (https://medium.com/slack-developer-blog/important-changes-to-files-in-the-web-api-eb38f2a9c1e7).
// Messages with files: https://docs.slack.dev/reference/events/message/file_share
import type { InboundFile } from "../types.ts";
import { isSlackId } from "./ids.ts";

/**
 * File modes whose bytes cannot be fetched: a deleted file's `tombstone`, a file past the free plan's
 * limit (`hidden_by_limit`, https://docs.slack.dev/reference/methods/files.revokePublicURL), a link to
 * another service (`external`), and a Slack Connect file seen only through files.info (`file_access`).
 */
const UNREADABLE_MODES: ReadonlySet<string> = new Set([
  "tombstone",
  "hidden_by_limit",
  "external",
  "file_access",
]);
/** Longer names are cut: a name is a label for people, not a path. */
const MAX_NAME_CHARS = 255;

type Json = Readonly<Record<string, unknown>>;

function record(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

/**
 * The downloadable files of a message's `files` array, in order. Files with no bytes to fetch
 * (deleted, hidden by the plan's limit, external links, Slack Connect stubs without a URL) and
 * malformed entries are left out. Never throws.
 */
export function inboundFilesOf(value: unknown): InboundFile[] {
  if (!Array.isArray(value)) return [];
  const files: InboundFile[] = [];
  for (const entry of value) {
    const file = inboundFileOf(record(entry));
    if (file !== null) files.push(file);
  }
  return files;
}

function inboundFileOf(file: Json | null): InboundFile | null {
  if (file === null || !isSlackId(file.id)) return null;
  const { mode, size } = file;
  if (typeof mode === "string" && UNREADABLE_MODES.has(mode)) return null;
  if (file.is_external === true || file.hidden_by_limit === true) return null;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return null;
  // url_private_download answers the bytes as an attachment; url_private may answer a viewer for some types.
  const url = httpUrl(file.url_private_download) ?? httpUrl(file.url_private);
  if (url === null) return null;
  const name = typeof file.name === "string" && file.name !== "" ? file.name : file.id;
  return { id: file.id, name: name.slice(0, MAX_NAME_CHARS), size, url };
}

function httpUrl(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:" ? value : null;
  } catch {
    return null;
  }
}
