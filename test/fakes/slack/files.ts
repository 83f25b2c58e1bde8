// Slack's external upload flow: reserve a URL, POST the bytes there, then complete into a channel.
// https://docs.slack.dev/reference/methods/files.getUploadURLExternal
// https://docs.slack.dev/reference/methods/files.completeUploadExternal
import { newId, newUploadKey } from "./ids.ts";
import { postMessage } from "./messaging.ts";
import type { Posted } from "./messaging.ts";
import { fail, succeed } from "./workspace.ts";
import type { Outcome, Principal, StoredFile, Workspace } from "./workspace.ts";

/** Step 1: a file id and the key of its upload URL. */
export function reserveUpload(
  ws: Workspace,
  principal: Principal,
  input: { filename: string | undefined; length: number | undefined },
): Outcome<{ file: StoredFile; uploadKey: string }> {
  if (!input.filename || input.length === undefined || input.length <= 0) return fail("invalid_arguments");
  const file = newFile(ws, principal.userId, input.filename, input.length, null);
  const uploadKey = newUploadKey();
  ws.uploads.set(uploadKey, file.id);
  return succeed({ file, uploadKey });
}

export type UploadOutcome =
  | { ok: true; file: StoredFile }
  | { ok: false; reason: "unknown_upload" | "length_mismatch" | "already_uploaded" };

/** Step 2: the bytes POSTed to the upload URL, which must be as long as announced. */
export function receiveUpload(ws: Workspace, uploadKey: string, bytes: Buffer): UploadOutcome {
  const fileId = ws.uploads.get(uploadKey);
  const file = fileId === undefined ? undefined : ws.files.get(fileId);
  if (file === undefined) return { ok: false, reason: "unknown_upload" };
  if (file.bytes !== null) return { ok: false, reason: "already_uploaded" };
  if (bytes.byteLength !== file.size) return { ok: false, reason: "length_mismatch" };
  file.bytes = Buffer.from(bytes);
  return { ok: true, file };
}

export interface CompleteInput {
  files: { id: string; title?: string }[];
  /** Null leaves the files private. */
  channel: string | null;
  initialComment: string | undefined;
  threadTs: string | undefined;
}

/** Step 3: the files become visible, shared in one message when a channel is named. */
export function completeUpload(
  ws: Workspace,
  principal: Principal,
  input: CompleteInput,
): Outcome<{ files: StoredFile[]; posted: Posted | null }> {
  const files: StoredFile[] = [];
  for (const entry of input.files) {
    const file = ws.files.get(entry.id);
    // Another user's file, or one whose bytes never arrived, cannot be completed.
    if (file === undefined || file.user !== principal.userId || file.bytes === null) {
      return fail("file_not_found");
    }
    files.push(file);
  }
  files.forEach((file, i) => (file.title = input.files[i]?.title ?? file.title));
  if (input.channel === null) return succeed({ files, posted: null });
  const posted = postMessage(ws, principal, {
    channel: input.channel,
    text: input.initialComment,
    hasBlocks: false,
    threadTs: input.threadTs,
    username: undefined,
    metadata: null,
    clientMsgId: null,
    files,
  });
  if (!posted.ok) return posted;
  return succeed({ files, posted: posted.value }, posted.changes);
}

/** A person drags a file into a channel: upload and share in one step. */
export function shareFile(
  ws: Workspace,
  principal: Principal,
  input: {
    channel: string;
    name: string;
    bytes: Buffer;
    title: string | undefined;
    threadTs: string | undefined;
    clientMsgId: string;
  },
): Outcome<{ file: StoredFile; posted: Posted }> {
  const file = newFile(ws, principal.userId, input.name, input.bytes.byteLength, input.title ?? null);
  file.bytes = Buffer.from(input.bytes);
  const posted = postMessage(ws, principal, {
    channel: input.channel,
    text: "",
    hasBlocks: false,
    threadTs: input.threadTs,
    username: undefined,
    metadata: null,
    clientMsgId: input.clientMsgId,
    files: [file],
  });
  if (!posted.ok) {
    ws.files.delete(file.id);
    return posted;
  }
  return succeed({ file, posted: posted.value }, posted.changes);
}

function newFile(ws: Workspace, user: string, name: string, size: number, title: string | null): StoredFile {
  let id = newId.file();
  while (ws.files.has(id)) id = newId.file();
  const file: StoredFile = {
    id,
    name,
    title: title ?? name,
    size,
    bytes: null,
    user,
    created: ws.nowSeconds(),
    shares: [],
  };
  ws.files.set(id, file);
  return file;
}
