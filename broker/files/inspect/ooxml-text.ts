// Text of one Office XML part, in reading order: runs of a paragraph joined as they are, every
// paragraph, cell, row and other text-bearing element ended by a separator so that numbers of
// neighbouring fields never merge into one (or break one that the detectors should see). Alt text
// of drawings is read; an element that draws a picture stops the reading (the picture is unread).
import { InspectionReason, UninspectableError } from "./reasons.ts";
import type { TextBudget } from "./text-budget.ts";
import type { XmlHandler } from "./xml-stream.ts";

/** Elements holding pieces of a run of text (WordprocessingML, DrawingML, SpreadsheetML rich text). */
const RUN_TEXT = new Set(["t", "delText", "instrText"]);
/** Elements that stand for a character inside a run. */
const RUN_BREAKS: Readonly<Record<string, "\n" | "\t">> = { tab: "\t", ptab: "\t", br: "\n", cr: "\n" };
/** Elements whose end ends a line of text: paragraphs, table rows and cells, list items, strings. */
const BLOCKS = new Set(["p", "tr", "tc", "si", "row", "c", "comment", "txBody", "text", "item"]);
/** Phonetic guides (furigana) repeat the text they annotate in another script: left out. */
const SKIPPED = new Set(["rPh", "phoneticPr"]);
/**
 * Elements that draw a picture (DrawingML `a:blip` and `pic:pic`, VML `v:imagedata` and `v:image`),
 * embedded or linked: its content cannot be read, so neither can the document.
 */
const PICTURES = new Set(["blip", "pic", "imagedata", "image"]);
/** Drawing properties (`wp:docPr`, `p:cNvPr`, `xdr:cNvPr`) whose attributes hold alternative text. */
const ALT_TEXT: Readonly<Record<string, readonly string[]>> = {
  docPr: ["title", "descr"],
  cNvPr: ["title", "descr"],
};

export interface OoxmlTextOptions {
  /** Attributes whose values are text too (pivot caches keep their values in `v`). */
  attributeText?: readonly string[];
}

/** Writes the text of the part it is handed into `out`. */
export class OoxmlTextHandler implements XmlHandler {
  readonly #out: TextBudget;
  readonly #attributeText: readonly string[];
  /** Per open element: whether it held text of its own outside a run (a field to close). */
  readonly #fields: boolean[] = [];
  readonly #names: string[] = [];
  #skipDepth = 0;

  constructor(out: TextBudget, options: OoxmlTextOptions = {}) {
    this.#out = out;
    this.#attributeText = options.attributeText ?? [];
  }

  open(name: string, attributes: Readonly<Record<string, string>>): void {
    this.#names.push(name);
    this.#fields.push(false);
    if (SKIPPED.has(name) || this.#skipDepth > 0) {
      this.#skipDepth++;
      return;
    }
    if (PICTURES.has(name)) throw new UninspectableError(InspectionReason.pictures);
    const runBreak = RUN_BREAKS[name];
    if (runBreak) this.#out.separate(runBreak);
    for (const attribute of [...this.#attributeText, ...(ALT_TEXT[name] ?? [])]) {
      const value = attributes[attribute];
      if (value !== undefined && value.trim() !== "") this.#field(value);
    }
  }

  text(text: string): void {
    if (this.#skipDepth > 0) return;
    const name = this.#names.at(-1);
    const top = this.#fields.length - 1;
    if (name !== undefined && RUN_TEXT.has(name)) {
      this.#out.append(text);
    } else if (this.#fields[top] === true) {
      this.#out.append(text); // the rest of a field whose text came in several pieces
    } else if (text.trim() !== "") {
      this.#out.separate("\n");
      this.#out.append(text);
      this.#fields[top] = true;
    }
  }

  close(name: string): void {
    this.#names.pop();
    const field = this.#fields.pop() ?? false;
    if (this.#skipDepth > 0) {
      this.#skipDepth--;
      return;
    }
    if (field || BLOCKS.has(name)) this.#out.separate("\n");
  }

  /** Text that stands alone: separated from what came before and from what follows. */
  #field(text: string): void {
    this.#out.separate("\n");
    this.#out.append(text);
    this.#out.separate("\n");
  }
}
