// What the PDF child process and its parent tell each other over the IPC channel (the PDF's bytes
// go through the child's stdin, not through a message).
import type { InspectionReason } from "./reasons.ts";

export type PdfAnswer = { ok: true; text: string } | { ok: false; reason: InspectionReason };

export type PdfChildMessage =
  /** pdf.js is loaded: the parent may cap the address space, then send the bytes. */
  { type: "ready" } | { type: "answer"; answer: PdfAnswer };

/** The child's command line after its script: the PDF's length in bytes, and the text budget. */
export function pdfChildArgs(byteLength: number, maxTextChars: number): string[] {
  return [String(byteLength), String(maxTextChars)];
}
