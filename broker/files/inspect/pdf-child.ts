// Runs as a child process of its own (started by pdf.ts): pdf.js (the serverless build bundled by
// unpdf, no worker of its own, no network, no eval) reads the PDF's pages, form fields and
// annotations. The parent caps this process's memory and kills it when the time is up, which bounds
// anything pdf.js could get stuck in or blow up on. The bytes come on stdin, the answer goes back
// over the IPC channel; nothing is printed.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { getDocumentProxy, getResolvedPDFJS } from "unpdf";
import type { PdfAnswer, PdfChildMessage } from "./pdf-job.ts";
import { InspectionReason } from "./reasons.ts";

/** pdf.js verbosity: warnings, which are caught below and never printed. */
const WARNINGS = 1;
/**
 * pdfjs-dist's CMaps (CJK encodings such as UniGB-UCS2-H) and standard font data. pdf.js reads them
 * with fs in Node, so these are paths; unpdf's own default (file: URLs) fails to load them.
 */
const PDFJS_DIST = dirname(fileURLToPath(import.meta.resolve("pdfjs-dist/package.json")));
const { OPS } = await getResolvedPDFJS();

/** Operators that paint a picture (ISO 32000-1 §8.9: image XObjects, inline images, image masks). */
const PICTURE_OPS = new Set<number>([
  OPS.paintImageXObject,
  OPS.paintImageXObjectRepeat,
  OPS.paintInlineImageXObject,
  OPS.paintInlineImageXObjectGroup,
  OPS.paintImageMaskXObject,
  OPS.paintImageMaskXObjectRepeat,
  OPS.paintImageMaskXObjectGroup,
  OPS.paintSolidColorImageMask,
]);
/** Operators that show text: a page with text that has none of them was not read whole. */
const TEXT_OPS = new Set<number>([
  OPS.showText,
  OPS.showSpacedText,
  OPS.nextLineShowText,
  OPS.nextLineSetSpacingShowText,
]);
/** Operators that change state or structure and put nothing on the page; every other one draws. */
const NOT_DRAWING_OPS = new Set<number>(
  [
    "dependency",
    "setLineWidth",
    "setLineCap",
    "setLineJoin",
    "setMiterLimit",
    "setDash",
    "setRenderingIntent",
    "setFlatness",
    "setGState",
    "save",
    "restore",
    "transform",
    "clip",
    "eoClip",
    "beginText",
    "endText",
    "setCharSpacing",
    "setWordSpacing",
    "setHScale",
    "setLeading",
    "setFont",
    "setTextRenderingMode",
    "setTextRise",
    "moveText",
    "setLeadingMoveText",
    "setTextMatrix",
    "nextLine",
    "setCharWidth",
    "setCharWidthAndBounds",
    "setStrokeColorSpace",
    "setFillColorSpace",
    "setStrokeColor",
    "setStrokeColorN",
    "setFillColor",
    "setFillColorN",
    "setStrokeGray",
    "setFillGray",
    "setStrokeRGBColor",
    "setFillRGBColor",
    "setStrokeCMYKColor",
    "setFillCMYKColor",
    "setStrokeTransparent",
    "setFillTransparent",
    "markPoint",
    "markPointProps",
    "beginMarkedContent",
    "beginMarkedContentProps",
    "endMarkedContent",
    "beginCompat",
    "endCompat",
    "paintFormXObjectBegin",
    "paintFormXObjectEnd",
    "beginGroup",
    "endGroup",
  ].map((name) => (OPS as Record<string, number>)[name] ?? -1),
);
/**
 * Annotations that carry a file or media rather than text (ISO 32000-1 §12.5.6.15, §12.5.6.16,
 * §12.5.6.18; ISO 32000-2 §13.7 for RichMedia and 3D): their content is never read.
 */
const EMBEDDING_ANNOTATIONS = new Set(["FileAttachment", "Sound", "Movie", "Screen", "RichMedia", "3D"]);

class TextTooLong extends Error {
  override name = "TextTooLong";
}

class Uninspectable extends Error {
  override name = "Uninspectable";
  constructor(readonly reason: InspectionReason) {
    super(reason);
  }
}

/**
 * pdf.js replaces a font it cannot load (a missing CMap, a broken font program) by one that draws
 * nothing and only warns: that text would be silently missing, so the file is not inspectable.
 */
let fontFailed = false;
// eslint-disable-next-line no-console -- replaced to catch pdf.js's warnings, not to print
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === "string" && args[0].includes("translateFont failed")) fontFailed = true;
};

async function extract(data: Uint8Array, maxTextChars: number): Promise<PdfAnswer> {
  const pdf = await getDocumentProxy(data, {
    verbosity: WARNINGS,
    isEvalSupported: false,
    cMapUrl: `${PDFJS_DIST}/cmaps/`,
    cMapPacked: true,
    standardFontDataUrl: `${PDFJS_DIST}/standard_fonts/`,
    // A content stream pdf.js cannot parse stops the reading instead of leaving text out.
    stopAtErrors: true,
  });
  try {
    if (pdf.isPureXfa) return { ok: false, reason: InspectionReason.unsupported }; // pages drawn by a form engine
    const attachments: unknown = await pdf.getAttachments();
    if (attachments && Object.keys(attachments).length > 0)
      return { ok: false, reason: InspectionReason.embedded };
    const pieces: string[] = [];
    let length = 0;
    const add = (text: string): void => {
      length += text.length;
      if (length > maxTextChars) throw new TextTooLong();
      pieces.push(text);
    };
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      let hasText = false;
      for (const item of (await page.getTextContent()).items) {
        if (!("str" in item)) continue;
        add(item.str + (item.hasEOL ? "\n" : ""));
        if (item.str.trim() !== "") hasText = true;
      }
      add("\n");
      for (const annotation of (await page.getAnnotations()) as Record<string, unknown>[]) {
        if (EMBEDDING_ANNOTATIONS.has(String(annotation["subtype"])))
          throw new Uninspectable(InspectionReason.embedded);
        for (const text of annotationTexts(annotation)) add(`${text}\n`);
      }
      if (fontFailed) throw new Uninspectable(InspectionReason.unreadableFont);
      // A picture's content, and whatever a page without text draws (a scan, outlined letters), is unread.
      const drawing = assessDrawing(await page.getOperatorList());
      if (drawing.pictures || (drawing.draws && !hasText)) throw new Uninspectable(InspectionReason.pictures);
      // pdf.js may drop operators after an error it ignores: then the list proves nothing.
      if (hasText && !drawing.showsText) throw new Uninspectable(InspectionReason.corrupt);
      page.cleanup();
    }
    return { ok: true, text: pieces.join("") };
  } finally {
    await pdf.destroy();
  }
}

interface OperatorList {
  fnArray: number[];
  argsArray: unknown[];
}

/**
 * Whether a page's operators paint a picture (also inside tiling patterns, whose operators are
 * nested in their arguments), and whether its content (annotations aside) draws anything at all.
 */
function assessDrawing(
  list: OperatorList,
  depth = 0,
): { pictures: boolean; draws: boolean; showsText: boolean } {
  const found = { pictures: false, draws: false, showsText: false };
  let inAnnotation = 0;
  for (const [index, op] of list.fnArray.entries()) {
    const args = list.argsArray[index];
    if (PICTURE_OPS.has(op)) return { ...found, pictures: true };
    if (TEXT_OPS.has(op)) found.showsText = true;
    if (op === OPS.beginAnnotation) inAnnotation++;
    else if (op === OPS.endAnnotation) inAnnotation--;
    else if (inAnnotation === 0 && !NOT_DRAWING_OPS.has(op) && !isEndPath(op, args)) found.draws = true;
    if (depth < 4 && nestedLists(args).some((nested) => assessDrawing(nested, depth + 1).pictures))
      return { ...found, pictures: true };
  }
  return found;
}

/** A path ended without painting it (`n`, a clip's usual end) draws nothing. */
function isEndPath(op: number, args: unknown): boolean {
  return op === OPS.constructPath && Array.isArray(args) && args[0] === OPS.endPath;
}

/** Operator lists inside an operator's arguments (a tiling pattern carries one). */
function nestedLists(args: unknown): OperatorList[] {
  if (!Array.isArray(args)) return [];
  return args.filter(
    (arg): arg is OperatorList =>
      typeof arg === "object" && arg !== null && Array.isArray((arg as OperatorList).fnArray),
  );
}

/** Form field values and comments: text a reader sees that is not in the page's content stream. */
function annotationTexts(annotation: Record<string, unknown>): string[] {
  const texts: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === "string" && value.trim() !== "") texts.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
  };
  collect(annotation["fieldValue"]);
  collect(annotation["textContent"]);
  const contents = annotation["contentsObj"];
  if (contents && typeof contents === "object") collect((contents as { str?: unknown }).str);
  return texts;
}

function reasonOf(error: unknown): InspectionReason {
  if (error instanceof Uninspectable) return error.reason;
  if (error instanceof TextTooLong) return InspectionReason.textTooLong;
  if (!(error instanceof Error)) return InspectionReason.corrupt;
  if (error.name === "PasswordException") return InspectionReason.encryptedPdf;
  // An allocation refused under the address-space cap surfaces as a RangeError (maybe wrapped by pdf.js).
  if (/allocation failed|out of memory|invalid (typed )?array (buffer )?length/i.test(error.message))
    return InspectionReason.memory;
  return InspectionReason.corrupt;
}

/** Reads exactly `length` bytes from stdin into one buffer. */
async function readInput(length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let at = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    if (at + chunk.length > length) throw new Error("more bytes than announced");
    bytes.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error("fewer bytes than announced");
  return bytes;
}

function tell(message: PdfChildMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, () => then?.());
}

// The parent gone (crashed, or done with us): nothing left to answer.
process.on("disconnect", () => process.exit(0));
const [byteLength, maxTextChars] = process.argv.slice(2).map(Number);
tell({ type: "ready" });
const answer = await readInput(byteLength ?? 0)
  .then((data) => extract(data, maxTextChars ?? 0))
  .catch((error: unknown): PdfAnswer => ({ ok: false, reason: reasonOf(error) }));
tell({ type: "answer", answer }, () => process.exit(0));
