// Fixed limits of the inspection, beside the configurable budget (files.inspect*).

/** Bytes read first, for the media type: a file over budget or of a kind never read is not read further. */
export const SNIFF_HEAD_BYTES = 64 * 1024;
/** Bytes looked at to decide whether unrecognised data is text. */
export const TEXT_PROBE_BYTES = 8 * 1024;
/** Entries an Office package may have (zip bomb guard: a huge directory). */
export const MAX_ZIP_ENTRIES = 10_000;
/** Decompressed bytes of all parts read from a package, as a multiple of `maxBytes` (zip bomb guard). */
export const ZIP_EXPANSION_FACTOR = 4;
/** Most compressed bytes inflated in one step; deflate expands at most ~1032x, so a step stays under ~8 MiB. */
export const INFLATE_STEP_BYTES = 8 * 1024;
/** Inflated bytes handed on (to the XML parser) per synchronous step, so one step never stalls the event loop. */
export const INFLATE_OUTPUT_SLICE_BYTES = 64 * 1024;
/** Elements an XML part may nest; deeper is corrupt (Office nests a few dozen; a parser's stack grows with it). */
export const MAX_XML_DEPTH = 256;
/** Office packages embedded in a package are read this many levels deep; deeper ones are uninspectable. */
export const MAX_PACKAGE_DEPTH = 1;
/** Plain text decoded per step, in bytes. */
export const TEXT_STEP_BYTES = 64 * 1024;
/** Old-generation heap of the PDF child process, in MiB; a PDF that needs more is uninspectable. */
export const PDF_CHILD_HEAP_MB = 256;
/** Resident memory of the PDF child process, in MiB; past it the child is killed and the PDF is uninspectable. */
export const PDF_CHILD_RSS_MB = 300;
/** Address space the PDF child may add once pdf.js is loaded, in MiB (prlimit --as, where util-linux has it). */
export const PDF_CHILD_ADDRESS_SPACE_MB = 512;
/** How often the PDF child's resident memory is looked at, in milliseconds. */
export const PDF_CHILD_RSS_POLL_MS = 20;
/** PDFs extracted at a time in one process: each may take its child up to `PDF_CHILD_RSS_MB`. */
export const PDF_CONCURRENCY = 1;
/** Files inspected at a time in one process: each may hold up to `maxBytes` of the file in memory. */
export const INSPECTION_CONCURRENCY = 2;
/** Bytes at the start of a file where a PDF reader looks for `%PDF-` (pdf.js, PDFium and Acrobat: 1 KiB). */
export const PDF_HEADER_WINDOW_BYTES = 1024;
/** Base64 characters of one `data:` URI payload above which text holds encoded content (an icon fits below). */
export const MAX_DATA_URI_BASE64_CHARS = 128;
/** Longest stretch of work, in milliseconds, before the event loop gets a turn. */
export const PACE_MS = 10;
