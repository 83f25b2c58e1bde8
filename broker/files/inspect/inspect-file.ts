// Inspects one stored file: reads it within the budget, finds its media type from the bytes and
// extracts its text for the detectors. Never throws: whatever goes wrong makes the file
// uninspectable, with a fixed reason, and the policy keeps uninspectable files on-prem.
import type { Inspection, InspectionBudget } from "../types.ts";
import { cfbReason } from "./cfb.ts";
import { Deadline } from "./deadline.ts";
import { SNIFF_HEAD_BYTES, ZIP_EXPANSION_FACTOR } from "./limits.ts";
import { Family, isArchiveType, OCTET_STREAM, sniff, type Sniffed } from "./media-type.ts";
import { readPackageText } from "./ooxml.ts";
import { openOoxmlPackage } from "./ooxml-package.ts";
import { extractPdfText } from "./pdf.ts";
import { decodePlainText } from "./plain-text.ts";
import { BoundedReader, type OpenBytes } from "./read-bounded.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";
import { TextBudget } from "./text-budget.ts";
import { textMediaType } from "./text-media-type.ts";
import { readZipDirectory } from "./zip.ts";

export interface FileMeta {
  /** The file name as uploaded; only its extension is used, to name the kind of a text file. */
  name: string;
  /** Size in bytes as stored; over `maxBytes`, only the head is read (for the media type). The bytes read decide too. */
  size: number;
}

/** The reason for families that are never read, by family. */
const NOT_READ: Partial<Record<Family, InspectionReason>> = {
  [Family.image]: InspectionReason.image,
  [Family.audioVideo]: InspectionReason.audioVideo,
  [Family.archive]: InspectionReason.archive,
  [Family.unsupported]: InspectionReason.unsupported,
  [Family.binary]: InspectionReason.binary,
};

/**
 * Reads the file `open` yields (at most `budget.maxBytes` of it kept in memory) and returns its media
 * type and text; `inspectable: false` with a reason when the text cannot be had whole within the
 * budget (size, characters, time) or the format hides it. `signal` aborts the inspection.
 */
export async function inspectFile(
  open: OpenBytes,
  meta: FileMeta,
  budget: InspectionBudget,
  signal?: AbortSignal,
): Promise<Inspection> {
  const found = { mediaType: OCTET_STREAM };
  let deadline: Deadline | undefined;
  let reader: BoundedReader | undefined;
  try {
    if (!isValidBudget(budget)) return uninspectable(OCTET_STREAM, InspectionReason.invalidBudget);
    deadline = new Deadline(budget.timeoutMs, signal);
    reader = new BoundedReader(open, budget.maxBytes, deadline);
    const claimedTooLarge = typeof meta?.size === "number" && meta.size > budget.maxBytes;
    // The head first: a file over budget, or of a kind never read, is not read further.
    let read = await reader.readUpTo(SNIFF_HEAD_BYTES);
    let sniffed = await sniff(read.bytes, deadline);
    found.mediaType = sniffed.mediaType;
    if (claimedTooLarge) return uninspectable(found.mediaType, InspectionReason.tooLarge);
    if (!read.ended && !read.overCap) {
      const never = NOT_READ[sniffed.family];
      if (never) return uninspectable(found.mediaType, never);
      read = await reader.readUpTo(budget.maxBytes);
      sniffed = await sniff(read.bytes, deadline);
      found.mediaType = sniffed.mediaType;
    }
    if (read.overCap) return uninspectable(found.mediaType, InspectionReason.tooLarge);
    const text = await extractText(read.bytes, sniffed, String(meta?.name ?? ""), budget, deadline, found);
    deadline.check(); // a result that came in after the deadline is not trusted to be whole
    return { mediaType: found.mediaType, inspectable: true, text, reason: null };
  } catch (error) {
    const reason =
      deadline?.expired()?.reason ??
      (error instanceof UninspectableError ? error.reason : InspectionReason.failed);
    return uninspectable(found.mediaType, reason);
  } finally {
    reader?.close();
    deadline?.dispose();
  }
}

/** The file's text; may refine `found.mediaType` (an Office package, the kind of a text file). */
async function extractText(
  bytes: Uint8Array,
  sniffed: Sniffed,
  name: string,
  budget: InspectionBudget,
  deadline: Deadline,
  found: { mediaType: string },
): Promise<string> {
  switch (sniffed.family) {
    case Family.text: {
      const text = await decodePlainText(bytes, sniffed.encoding ?? "utf-8", budget.maxTextChars, deadline);
      if (sniffed.nameFromText) found.mediaType = textMediaType(name, text);
      return text;
    }
    case Family.zip: {
      const entries = readZipDirectory(bytes);
      const expansion = { remaining: ZIP_EXPANSION_FACTOR * budget.maxBytes };
      const pkg = await openOoxmlPackage(bytes, entries, expansion, deadline);
      if (!pkg) {
        const reason = isArchiveType(found.mediaType)
          ? InspectionReason.archive
          : InspectionReason.unsupported;
        throw new UninspectableError(reason);
      }
      found.mediaType = pkg.mediaType;
      const out = new TextBudget(budget.maxTextChars);
      await readPackageText(bytes, entries, pkg, { out, expansion, deadline, maxBytes: budget.maxBytes });
      return out.toString();
    }
    case Family.pdf:
      return await extractPdfText(bytes, budget.maxTextChars, deadline);
    case Family.cfb:
      throw new UninspectableError(cfbReason(bytes));
    default:
      throw new UninspectableError(NOT_READ[sniffed.family] ?? InspectionReason.unsupported);
  }
}

function isValidBudget(budget: InspectionBudget | undefined): boolean {
  if (!budget) return false;
  const { maxBytes, maxTextChars, timeoutMs } = budget;
  // Capped where a number stops being a sensible budget: 2 GiB, and the longest timer Node keeps.
  return (
    Number.isSafeInteger(maxBytes) &&
    maxBytes > 0 &&
    maxBytes <= 2 ** 31 &&
    Number.isSafeInteger(maxTextChars) &&
    maxTextChars > 0 &&
    Number.isFinite(timeoutMs) &&
    timeoutMs > 0 &&
    timeoutMs < 2 ** 31
  );
}

function uninspectable(mediaType: string, reason: InspectionReason): Inspection {
  return { mediaType, inspectable: false, text: null, reason };
}
