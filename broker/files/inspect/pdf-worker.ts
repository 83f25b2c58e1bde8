// Runs inside a worker thread: pdf.js (the serverless build bundled by unpdf, no worker of its own,
// no network, no eval) reads the PDF's pages and form fields. The thread is killed from outside when
// the time is up, which bounds any work pdf.js could get stuck in.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { getDocumentProxy } from "unpdf";
import type { PdfAnswer, PdfJob } from "./pdf-job.ts";
import { InspectionReason } from "./reasons.ts";

/** pdf.js verbosity: warnings, which are caught below and never printed. */
const WARNINGS = 1;
/**
 * pdfjs-dist's CMaps (CJK encodings such as UniGB-UCS2-H) and standard font data. pdf.js reads them
 * with fs in Node, so these are paths; unpdf's own default (file: URLs) fails to load them.
 */
const PDFJS_DIST = dirname(fileURLToPath(import.meta.resolve("pdfjs-dist/package.json")));

class TextTooLong extends Error {
  override name = "TextTooLong";
}

class FontFailed extends Error {
  override name = "FontFailed";
}

/**
 * pdf.js replaces a font it cannot load (a missing CMap, a broken font program) by one that draws
 * nothing and only warns: that text would be silently missing, so the file is not inspectable.
 * The warnings go to console.warn of this thread only; none is printed.
 */
let fontFailed = false;
// eslint-disable-next-line no-console -- replaced to catch pdf.js's warnings, not to print
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === "string" && args[0].includes("translateFont failed")) fontFailed = true;
};

async function extract({ data, maxTextChars }: PdfJob): Promise<PdfAnswer> {
  const pdf = await getDocumentProxy(new Uint8Array(data), {
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
      const content = await page.getTextContent();
      for (const item of content.items) {
        if ("str" in item) add(item.str + (item.hasEOL ? "\n" : ""));
      }
      add("\n");
      for (const annotation of (await page.getAnnotations()) as Record<string, unknown>[]) {
        for (const text of annotationTexts(annotation)) add(`${text}\n`);
      }
      page.cleanup();
      if (fontFailed) throw new FontFailed();
    }
    return { ok: true, text: pieces.join("") };
  } finally {
    await pdf.destroy();
  }
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
  if (error instanceof TextTooLong) return InspectionReason.textTooLong;
  if (error instanceof FontFailed) return InspectionReason.unreadableFont;
  if (error instanceof Error && error.name === "PasswordException") return InspectionReason.encryptedPdf;
  return InspectionReason.corrupt;
}

const answer = await extract(workerData as PdfJob).catch((error: unknown): PdfAnswer => ({
  ok: false,
  reason: reasonOf(error),
}));
parentPort?.postMessage(answer);
