// Inspects one stored file: reads it within the budget, finds its media type from the bytes and
// extracts its text for the detectors. Never throws: whatever goes wrong makes the file
// uninspectable, with a fixed reason, and the policy keeps uninspectable files on-prem. At most
// INSPECTION_CONCURRENCY files are inspected at a time in a process (each holds up to maxBytes).
import type { Inspection, InspectionBudget } from "../types.ts";
import { cfbReason } from "./cfb.ts";
import { Deadline } from "./deadline.ts";
import { holdsEncodedContent } from "./encoded-content.ts";
import { Gate } from "./gate.ts";
import { INSPECTION_CONCURRENCY, SNIFF_HEAD_BYTES, ZIP_EXPANSION_FACTOR } from "./limits.ts";
import { Family, isArchiveType, OCTET_STREAM, sniff, type Sniffed } from "./media-type.ts";
import { contentMatchesName } from "./name-check.ts";
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
  [Family.ambiguous]: InspectionReason.ambiguous,
};

const inspections = new Gate(INSPECTION_CONCURRENCY);

/**
 * Reads the file `open` yields (at most `budget.maxBytes` of it kept in memory) and returns its media
 * type and text; `inspectable: false` with a reason when the text cannot be had whole within the
 * budget (size, characters, time) or the format hides it. `signal` aborts the inspection. Waits for
 * one of the process's inspection slots within `budget.timeoutMs`; the source is opened after.
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
  let leave: (() => void) | undefined;
  try {
    if (!isValidBudget(budget)) return uninspectable(OCTET_STREAM, InspectionReason.invalidBudget);
    deadline = new Deadline(budget.timeoutMs, signal);
    leave = await inspections.enter(deadline.signal);
    deadline.check();
    const name = String(meta?.name ?? "");
    reader = new BoundedReader(open, budget.maxBytes, deadline, meta?.size);
    const claimedTooLarge = typeof meta?.size === "number" && meta.size > budget.maxBytes;
    // The head first: a file over budget, or of a kind never read, is not read further; text is
    // streamed on from the head (never held whole); other formats are read whole and sniffed again.
    let read = await reader.readUpTo(SNIFF_HEAD_BYTES);
    let sniffed = await sniff(read.bytes, deadline);
    found.mediaType = sniffed.mediaType;
    if (claimedTooLarge) return uninspectable(found.mediaType, InspectionReason.tooLarge);
    const readWhole = sniffed.family !== Family.text && NOT_READ[sniffed.family] === undefined;
    if (!read.ended && !read.overCap && readWhole) {
      read = await reader.readUpTo(budget.maxBytes);
      sniffed = await sniff(read.bytes, deadline);
      found.mediaType = sniffed.mediaType;
    }
    if (read.overCap) return uninspectable(found.mediaType, InspectionReason.tooLarge);
    const never = NOT_READ[sniffed.family];
    if (never) return uninspectable(found.mediaType, never);
    if (!contentMatchesName(name, sniffed.family)) {
      return uninspectable(found.mediaType, InspectionReason.nameMismatch);
    }
    const text =
      sniffed.family === Family.text
        ? await readPlainText(reader, sniffed, name, budget, deadline, found)
        : await extractText(read.bytes, sniffed, budget, deadline, found);
    deadline.check(); // a result that came in after the deadline is not trusted to be whole
    if (holdsEncodedContent(text)) return uninspectable(found.mediaType, InspectionReason.encodedContent);
    return { mediaType: found.mediaType, inspectable: true, text, reason: null };
  } catch (error) {
    const reason =
      deadline?.expired()?.reason ??
      (error instanceof UninspectableError ? error.reason : InspectionReason.failed);
    return uninspectable(found.mediaType, reason);
  } finally {
    reader?.close();
    leave?.();
    deadline?.dispose();
  }
}

/** The text of a text file, decoded as the reader streams it; names its kind in `found.mediaType`. */
async function readPlainText(
  reader: BoundedReader,
  sniffed: Sniffed,
  name: string,
  budget: InspectionBudget,
  deadline: Deadline,
  found: { mediaType: string },
): Promise<string> {
  const encoding = sniffed.encoding ?? "utf-8";
  const text = await decodePlainText(reader.stream(), encoding, budget.maxTextChars, deadline);
  if (sniffed.nameFromText) found.mediaType = textMediaType(name, text);
  return text;
}

/** The text of a file held whole; may refine `found.mediaType` (an Office package). */
async function extractText(
  bytes: Uint8Array,
  sniffed: Sniffed,
  budget: InspectionBudget,
  deadline: Deadline,
  found: { mediaType: string },
): Promise<string> {
  switch (sniffed.family) {
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
