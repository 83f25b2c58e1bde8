// The media type of a file from its bytes, never from the client's claim: file-type's signatures
// first, then a text check. What family the type belongs to decides how the file is read.
import { fileTypeFromBuffer } from "file-type";
import type { Deadline } from "./deadline.ts";
import { PDF_HEADER_WINDOW_BYTES, TEXT_PROBE_BYTES } from "./limits.ts";
import { detectTextEncoding, TextEncoding } from "./text-encoding.ts";
import { endsLikeZip, looksLikeZip } from "./zip.ts";

export const Family = {
  text: "text",
  /** Zip-based: an Office package, or an archive or another zip-based format. */
  zip: "zip",
  pdf: "pdf",
  /** OLE compound file: legacy Office, or encrypted OOXML. */
  cfb: "cfb",
  image: "image",
  audioVideo: "audioVideo",
  archive: "archive",
  /** Recognised, but not a format whose text is read. */
  unsupported: "unsupported",
  /** Two formats at once (a polyglot): a PDF header inside another format, a zip directory after a PDF. */
  ambiguous: "ambiguous",
  /** Neither recognised nor text. */
  binary: "binary",
} as const;
export type Family = (typeof Family)[keyof typeof Family];

export interface Sniffed {
  mediaType: string;
  family: Family;
  /** For text: how to decode it. */
  encoding: TextEncoding | null;
  /** For text: true when the type is to be named from the file name and content (text/plain so far). */
  nameFromText: boolean;
}

export const OCTET_STREAM = "application/octet-stream";
const PDF = "application/pdf";
const PDF_HEADER = Buffer.from("%PDF-", "latin1");

/** Text formats file-type recognises by their first characters. */
const TEXT_TYPES = new Set(["application/xml", "application/postscript", "application/x-ms-regedit"]);
/**
 * Types file-type finds from two or three printable bytes ("BM", "MZ", "GIF", "BZh", "ID3"): when
 * the head is clean text it is a text file that happens to start that way ("BMW,..." in a CSV).
 */
const WEAK_SIGNATURES = new Set(["bmp", "exe", "gif", "bz2", "mp3"]);
const AUDIO_VIDEO_TYPES = new Set([
  "application/ogg",
  "application/vnd.ms-asf",
  "application/mxf",
  "application/vnd.rn-realmedia",
]);
const ARCHIVE_TYPES = new Set([
  "application/zip",
  "application/x-tar",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/gzip",
  "application/x-bzip2",
  "application/x-7z-compressed",
  "application/x-xz",
  "application/zstd",
  "application/x-lzip",
  "application/x-lz4",
  "application/x-compress",
  "application/x-cpio",
  "application/x-arj",
  "application/x-ace-compressed",
  "application/x-lzh-compressed",
  "application/vnd.ms-cab-compressed",
  "application/x-apple-diskimage",
  "application/x-deb",
  "application/x-rpm",
  "application/x-unix-archive",
  "application/java-archive",
  "application/vnd.android.package-archive",
  "application/x-xpinstall",
  "application/x-google-chrome-extension",
  "application/x-asar",
]);

export function isArchiveType(mediaType: string): boolean {
  return ARCHIVE_TYPES.has(mediaType);
}

export async function sniff(bytes: Uint8Array, deadline: Deadline): Promise<Sniffed> {
  const head = bytes.subarray(0, TEXT_PROBE_BYTES);
  if (bytes.length === 0) return text("text/plain", TextEncoding.utf8, true);
  if (startsWithByteOrderMark(head) && !includesPdfHeader(bytes)) {
    // UTF-16 marks look like MPEG audio frames to file-type; clean text after the mark settles it.
    const encoding = detectTextEncoding(head);
    if (encoding) return text("text/plain", encoding, true);
  }
  const found = await fileTypeOf(bytes, deadline);
  const pdf = sniffPdf(bytes, found);
  if (pdf) return pdf;
  if (!found) {
    const encoding = detectTextEncoding(head);
    return encoding ? text("text/plain", encoding, true) : other(OCTET_STREAM, Family.binary);
  }
  const { mime, ext } = found;
  if (looksLikeZip(bytes)) return other(mime, Family.zip);
  if (mime === "application/x-cfb") return other(mime, Family.cfb);
  if (mime.startsWith("text/") || TEXT_TYPES.has(mime) || WEAK_SIGNATURES.has(ext)) {
    const encoding = detectTextEncoding(head);
    if (encoding)
      return WEAK_SIGNATURES.has(ext) ? text("text/plain", encoding, true) : text(mime, encoding, false);
  }
  if (mime.startsWith("image/")) return other(mime, Family.image);
  if (mime.startsWith("audio/") || mime.startsWith("video/") || AUDIO_VIDEO_TYPES.has(mime)) {
    return other(mime, Family.audioVideo);
  }
  if (ARCHIVE_TYPES.has(mime)) return other(mime, Family.archive);
  return other(mime, Family.unsupported);
}

/**
 * A PDF, or a polyglot holding one: PDF readers look for `%PDF-` anywhere in the first KiB, so a
 * file with it there is a PDF (leading junk included) unless it is also another format; a PDF whose
 * bytes end with a zip directory is a zip archive too. Null when the file is no PDF.
 */
function sniffPdf(bytes: Uint8Array, found: { mime: string; ext: string } | undefined): Sniffed | null {
  if (!includesPdfHeader(bytes)) return null;
  const isPdf =
    found === undefined || found.mime === PDF || found.mime.startsWith("text/") || TEXT_TYPES.has(found.mime);
  if (!isPdf) return other(found.mime, Family.ambiguous);
  return endsLikeZip(bytes) ? other(PDF, Family.ambiguous) : other(PDF, Family.pdf);
}

/** file-type's answer; none when it fails on malformed input (the text check then decides). */
async function fileTypeOf(
  bytes: Uint8Array,
  deadline: Deadline,
): Promise<{ mime: string; ext: string } | undefined> {
  try {
    return await deadline.race(fileTypeFromBuffer(bytes));
  } catch (error) {
    if (deadline.expired()) throw error;
    return undefined;
  }
}

function includesPdfHeader(bytes: Uint8Array): boolean {
  const window = bytes.subarray(0, PDF_HEADER_WINDOW_BYTES);
  return Buffer.from(window.buffer, window.byteOffset, window.byteLength).includes(PDF_HEADER);
}

function startsWithByteOrderMark(head: Uint8Array): boolean {
  const [first, second, third] = head;
  return (
    (first === 0xff && second === 0xfe) ||
    (first === 0xfe && second === 0xff) ||
    (first === 0xef && second === 0xbb && third === 0xbf)
  );
}

function text(mediaType: string, encoding: TextEncoding, nameFromText: boolean): Sniffed {
  return { mediaType, family: Family.text, encoding, nameFromText };
}

function other(mediaType: string, family: Family): Sniffed {
  return { mediaType, family, encoding: null, nameFromText: false };
}
