// Fixed limits of the inspection, beside the configurable budget (files.inspect*).

/** Bytes read first, for the media type: a file over budget or of a kind never read is not read further. */
export const SNIFF_HEAD_BYTES = 64 * 1024;
/** Bytes looked at to decide whether unrecognised data is text. */
export const TEXT_PROBE_BYTES = 8 * 1024;
/** Entries an Office package may have (zip bomb guard: a huge directory). */
export const MAX_ZIP_ENTRIES = 10_000;
/** Decompressed bytes of all parts read from a package, as a multiple of `maxBytes` (zip bomb guard). */
export const ZIP_EXPANSION_FACTOR = 4;
/** Compressed bytes inflated per step; deflate expands at most ~1032x, so one step stays near 8 MiB. */
export const INFLATE_STEP_BYTES = 8 * 1024;
/** Office packages embedded in a package are read this many levels deep; deeper ones are uninspectable. */
export const MAX_PACKAGE_DEPTH = 1;
/** Plain text decoded per step, in bytes. */
export const TEXT_STEP_BYTES = 64 * 1024;
/** Old-generation heap of the PDF worker, in MiB; a PDF that needs more is uninspectable. */
export const PDF_WORKER_HEAP_MB = 512;
/** Longest stretch of work, in milliseconds, before the event loop gets a turn. */
export const PACE_MS = 10;
