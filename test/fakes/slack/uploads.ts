// The file endpoints beside the Web API: the upload_url bytes are POSTed to, and url_private downloads.
import type { IncomingMessage, ServerResponse } from "node:http";
import { receiveUpload } from "./files.ts";
import { bearerToken, contentType, readBody, readMultipart } from "./request.ts";
import { sendText } from "./server.ts";
import type { ApiCall } from "./types.ts";
import type { Workspace } from "./workspace.ts";

const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

/**
 * https://docs.slack.dev/reference/methods/files.getUploadURLExternal — "Files can be sent as raw
 * bytes or can be multipart form encoded"; Slack answers 200 ("OK - <length>") once they arrived.
 */
export async function handleUpload(
  ws: Workspace,
  record: (call: ApiCall) => void,
  uploadKey: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const at = ws.now();
  const answer = (status: number, text: string, error: string | null): void => {
    record({ method: "upload", channel: null, ok: status === 200, error, status, at });
    sendText(res, status, text);
  };
  const raw = await readBody(req, MAX_UPLOAD_BYTES);
  if (raw === null) return answer(413, "Request Entity Too Large", "file_too_large");
  const bytes = contentType(req) === "multipart/form-data" ? await firstFilePart(raw, req) : raw;
  if (bytes === null) return answer(400, "Bad Request - no file in the form", "invalid_form_data");

  const outcome = receiveUpload(ws, uploadKey, bytes);
  if (outcome.ok) return answer(200, `OK - ${bytes.byteLength}`, null);
  if (outcome.reason === "unknown_upload") return answer(404, "Not Found", outcome.reason);
  const expected = ws.files.get(ws.uploads.get(uploadKey) ?? "")?.size ?? 0;
  if (outcome.reason === "length_mismatch") {
    return answer(400, `Bad Request - expected ${expected} bytes, got ${bytes.byteLength}`, outcome.reason);
  }
  return answer(409, "Conflict - already uploaded", outcome.reason);
}

/**
 * https://docs.slack.dev/reference/objects/file-object — url_private needs the app's token as
 * "Authorization: Bearer"; the fake refuses without one (Slack shows its login page instead).
 */
export function handleDownload(
  ws: Workspace,
  fileId: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const auth = ws.authenticate(bearerToken(req));
  if (!auth.ok) return sendText(res, 403, auth.error);
  const file = ws.files.get(fileId);
  // A file not shared anywhere yet is visible to its uploader only.
  const visible = file !== undefined && (file.shares.length > 0 || file.user === auth.principal.userId);
  if (!visible || file.bytes === null) return sendText(res, 404, "Not Found");
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": String(file.bytes.byteLength),
  });
  res.end(file.bytes);
}

async function firstFilePart(raw: Buffer, req: IncomingMessage): Promise<Buffer | null> {
  const form = await readMultipart(raw, req.headers["content-type"] ?? "");
  if (form === null) return null;
  for (const [, value] of form) {
    if (typeof value !== "string") return Buffer.from(await value.arrayBuffer());
  }
  return null;
}
