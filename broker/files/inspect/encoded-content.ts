// Finds content carried encoded inside text, which the detectors cannot read but the receiver's
// application decodes: base64 MIME parts (a saved e-mail with its attachments, RFC 2045 §6.8) and
// `data:` URIs with a base64 payload (RFC 2397: pictures and files inlined in HTML, SVG, Markdown).
import { MAX_DATA_URI_BASE64_CHARS } from "./limits.ts";

const MIME_BASE64 = /content-transfer-encoding[ \t]*:\s*base64/i;
const BASE64_MARK = /;base64,/gi;
/** What may stand between `data:` and `;base64,`: a media type and parameters, no space or quote. */
const DATA_URI_HEAD = /data:[^\s"'<>()[\]{}`,]*$/i;
/** Longest media type and parameters looked at before `;base64,`. */
const MAX_DATA_URI_HEAD_CHARS = 256;

/** True when `text` holds a base64 MIME part or a `data:` URI with a payload past the threshold. */
export function holdsEncodedContent(text: string): boolean {
  if (MIME_BASE64.test(text)) return true;
  for (const match of text.matchAll(BASE64_MARK)) {
    const mark = match.index;
    const head = text.slice(Math.max(0, mark - MAX_DATA_URI_HEAD_CHARS), mark);
    if (!DATA_URI_HEAD.test(head)) continue;
    if (base64Length(text, mark + match[0].length) > MAX_DATA_URI_BASE64_CHARS) return true;
  }
  return false;
}

/** Base64 characters from `start` on (line breaks and spaces inside a payload are skipped). */
function base64Length(text: string, start: number): number {
  let count = 0;
  for (let at = start; at < text.length && count <= MAX_DATA_URI_BASE64_CHARS; at++) {
    const code = text.charCodeAt(at);
    const isBase64 =
      (code >= 0x41 && code <= 0x5a) || // A-Z
      (code >= 0x61 && code <= 0x7a) || // a-z
      (code >= 0x30 && code <= 0x39) || // 0-9
      code === 0x2b || // +
      code === 0x2f || // /
      code === 0x3d; // =
    if (isBase64) count++;
    else if (code !== 0x0a && code !== 0x0d && code !== 0x20 && code !== 0x09) break;
  }
  return count;
}
