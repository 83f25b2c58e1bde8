// Turning an HTTP request into Web API arguments and the token that authenticates it.
// https://docs.slack.dev/apis/web-api/ — POST form-encoded or JSON; tokens as "Authorization: Bearer",
// or as a `token` field of a form body (JSON bodies must use the header).
import type { IncomingMessage } from "node:http";
import { isRecord } from "./args.ts";

export interface ApiRequest {
  args: Record<string, unknown>;
  token: string | undefined;
  /** Slack's error for a body it cannot read ("invalid_json", "invalid_form_data"), else null. */
  malformed: string | null;
}

export async function parseApiRequest(req: IncomingMessage, raw: Buffer, url: URL): Promise<ApiRequest> {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  // Tokens in query strings are refused for new apps; only the header or a form field count.
  delete args.token;
  const type = contentType(req);
  let bodyToken: string | undefined;
  let malformed: string | null = null;

  if (raw.byteLength > 0) {
    if (type === "application/json") {
      const parsed = parseJson(raw);
      if (isRecord(parsed)) Object.assign(args, parsed);
      else malformed = "invalid_json";
    } else if (type === "application/x-www-form-urlencoded" || type === "") {
      for (const [key, value] of new URLSearchParams(raw.toString("utf8"))) args[key] = value;
      bodyToken = typeof args.token === "string" ? args.token : undefined;
    } else if (type === "multipart/form-data") {
      const form = await readMultipart(raw, req.headers["content-type"] ?? "");
      if (form === null) malformed = "invalid_form_data";
      else for (const [key, value] of form) if (typeof value === "string") args[key] = value;
      bodyToken = typeof args.token === "string" ? args.token : undefined;
    } else {
      malformed = "invalid_form_data";
    }
  }
  return { args, token: bearerToken(req) ?? bodyToken, malformed };
}

/** multipart/form-data, parsed by the platform's own Fetch implementation. */
export async function readMultipart(raw: Buffer, contentTypeHeader: string): Promise<FormData | null> {
  try {
    return await new Response(raw, { headers: { "content-type": contentTypeHeader } }).formData();
  } catch {
    return null;
  }
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function contentType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** The whole body, or null once it passes `limitBytes`. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > limitBytes) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}
