// Reads a zip archive held in memory: its central directory, and one entry at a time, inflated in
// small steps with fflate so a zip bomb is stopped after a few MiB, not after it filled the heap,
// and handed on in slices so no single step keeps the event loop for long.
// Format: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12 (central directory),
// 4.3.16 (end of central directory). ZIP64, multi-disk and encrypted archives are refused.
import { crc32 } from "node:zlib";
import { Inflate } from "fflate";
import type { Deadline } from "./deadline.ts";
import { INFLATE_OUTPUT_SLICE_BYTES, INFLATE_STEP_BYTES, MAX_ZIP_ENTRIES } from "./limits.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate; anything else is refused when read. */
  method: number;
  /** CRC-32 of the uncompressed bytes, as the directory records it. */
  crc: number;
  compressedSize: number;
  /** As the directory claims it; checked while inflating. */
  size: number;
  /** Where the entry's local header starts. */
  headerOffset: number;
}

/** Decompressed bytes left to all the entries read from one file (nested packages share it). */
export interface ExpansionBudget {
  remaining: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** The smallest compressed step (and the first): at deflate's ~1032x it inflates to ~256 KiB. */
const MIN_INFLATE_STEP_BYTES = 256;

const corrupt = (): UninspectableError => new UninspectableError(InspectionReason.corrupt);

/** True when `bytes` start like a zip archive (a local header, or the directory of an empty one). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

/** The entries of the archive's central directory, in directory order. */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfDirectory(view);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new UninspectableError(InspectionReason.unsupported); // split over several disks
  }
  const count = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryOffset = view.getUint32(eocd + 16, true);
  if (count === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX) {
    throw new UninspectableError(InspectionReason.unsupported); // ZIP64
  }
  if (count > MAX_ZIP_ENTRIES) throw new UninspectableError(InspectionReason.expandsTooMuch);
  if (directoryOffset + directorySize > eocd) throw corrupt();

  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_SIZE > eocd || view.getUint32(at, true) !== CENTRAL_SIGNATURE) throw corrupt();
    const flags = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const entry: ZipEntry = {
      name: decodeName(bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength), flags),
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      headerOffset: view.getUint32(at + 42, true),
    };
    if (flags & FLAG_ENCRYPTED) throw new UninspectableError(InspectionReason.encrypted);
    if (entry.compressedSize === U32_MAX || entry.size === U32_MAX || entry.headerOffset === U32_MAX) {
      throw new UninspectableError(InspectionReason.unsupported); // ZIP64
    }
    // Two entries of one name would let a reader pick the one that was not inspected.
    const key = entry.name.toLowerCase();
    if (names.has(key)) throw corrupt();
    names.add(key);
    entries.push(entry);
    at += CENTRAL_SIZE + nameLength + extraLength + commentLength;
  }
  if (at > eocd) throw corrupt();
  return entries;
}

/** True when `bytes` end like a zip archive (an end-of-directory record), whatever they start with. */
export function endsLikeZip(bytes: Uint8Array): boolean {
  return endOfDirectory(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)) >= 0;
}

/** The end-of-directory record; it must end the file exactly (bytes after it would go unread). */
function findEndOfDirectory(view: DataView): number {
  const at = endOfDirectory(view);
  if (at < 0) throw corrupt();
  return at;
}

function endOfDirectory(view: DataView): number {
  const lowest = Math.max(0, view.byteLength - EOCD_SIZE - U16_MAX);
  for (let at = view.byteLength - EOCD_SIZE; at >= lowest; at--) {
    if (view.getUint32(at, true) !== EOCD_SIGNATURE) continue;
    if (at + EOCD_SIZE + view.getUint16(at + 20, true) === view.byteLength) return at;
  }
  return -1;
}

function decodeName(raw: Uint8Array, flags: number): string {
  // Office writes ASCII names; other names are read as UTF-8 (bit 11) or Latin-1, never guessed further.
  return new TextDecoder(flags & FLAG_UTF8 ? "utf-8" : "latin1").decode(raw);
}

/**
 * Streams the entry's bytes to `onChunk`, checking the size it claims, its CRC-32 and the shared
 * expansion budget as it goes. Compressed bytes are inflated at most `INFLATE_STEP_BYTES` at a time,
 * fewer when they expand a lot (each step aims at `INFLATE_OUTPUT_SLICE_BYTES` of output at the
 * ratio of the step before), and what they inflate to is handed on in slices of at most
 * `INFLATE_OUTPUT_SLICE_BYTES`, with the event loop given a turn between slices: a step of a bomb
 * is bounded in memory and in time.
 */
export async function inflateEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  budget: ExpansionBudget,
  deadline: Deadline,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  if (entry.size > budget.remaining) throw new UninspectableError(InspectionReason.expandsTooMuch);
  const data = entryData(bytes, entry);
  let produced = 0;
  let crc = 0;
  const pending: Uint8Array[] = [];
  const accept = (chunk: Uint8Array): void => {
    produced += chunk.length;
    budget.remaining -= chunk.length;
    if (produced > entry.size) throw corrupt(); // more than the directory said: a lie or a bomb
    if (budget.remaining < 0) throw new UninspectableError(InspectionReason.expandsTooMuch);
    crc = crc32(chunk, crc);
    pending.push(chunk);
  };
  const handOn = async (): Promise<void> => {
    for (const chunk of pending.splice(0)) {
      for (let at = 0; at < chunk.length; at += INFLATE_OUTPUT_SLICE_BYTES) {
        onChunk(chunk.subarray(at, Math.min(at + INFLATE_OUTPUT_SLICE_BYTES, chunk.length)));
        await deadline.pace();
      }
    }
    await deadline.pace();
  };

  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw corrupt();
    for (let at = 0; at < data.length; at += INFLATE_STEP_BYTES) {
      accept(data.subarray(at, Math.min(at + INFLATE_STEP_BYTES, data.length)));
      await handOn();
    }
  } else if (entry.method === 8) {
    const inflater = new Inflate((chunk) => accept(chunk));
    let step = MIN_INFLATE_STEP_BYTES; // the ratio is not known yet: the first step assumes the worst
    let at = 0;
    do {
      const end = Math.min(at + step, data.length);
      const before = produced;
      pushStep(inflater, data.subarray(at, end), end === data.length);
      const ratio = (produced - before) / Math.max(1, end - at);
      step = Math.max(
        MIN_INFLATE_STEP_BYTES,
        Math.min(INFLATE_STEP_BYTES, Math.floor(INFLATE_OUTPUT_SLICE_BYTES / ratio)),
      );
      at = end;
      await handOn();
    } while (at < data.length);
  } else {
    throw new UninspectableError(InspectionReason.unsupported);
  }
  if (produced !== entry.size || crc !== entry.crc) throw corrupt();
}

function pushStep(inflater: Inflate, step: Uint8Array, final: boolean): void {
  try {
    inflater.push(step, final);
  } catch (error) {
    if (error instanceof UninspectableError) throw error;
    throw new UninspectableError(InspectionReason.corrupt, { cause: error });
  }
}

/** The compressed bytes of an entry, found through its local header. */
function entryData(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = entry.headerOffset;
  if (header + LOCAL_SIZE > bytes.length || view.getUint32(header, true) !== LOCAL_SIGNATURE) throw corrupt();
  const start = header + LOCAL_SIZE + view.getUint16(header + 26, true) + view.getUint16(header + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw corrupt();
  return bytes.subarray(start, end);
}

/** The whole entry in memory; only for small parts and for packages nested in a package. */
export async function readEntryBytes(
  bytes: Uint8Array,
  entry: ZipEntry,
  budget: ExpansionBudget,
  deadline: Deadline,
): Promise<Uint8Array> {
  const out = new Uint8Array(Math.min(entry.size, budget.remaining));
  let at = 0;
  await inflateEntry(bytes, entry, budget, deadline, (chunk) => {
    out.set(chunk, at);
    at += chunk.length;
  });
  return out;
}
