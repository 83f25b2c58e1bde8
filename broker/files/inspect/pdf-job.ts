// What the PDF worker is given and what it answers (shared by both sides of the thread boundary).
import type { InspectionReason } from "./reasons.ts";

export interface PdfJob {
  /** The PDF's bytes, transferred to the worker. */
  data: ArrayBuffer;
  maxTextChars: number;
}

export type PdfAnswer = { ok: true; text: string } | { ok: false; reason: InspectionReason };
