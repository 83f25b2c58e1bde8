// SpreadsheetML (ECMA-376 Part 1, §18.3 sheets, §18.4 shared strings): a workbook's strings, and
// its sheets as lines of tab-separated cells, with shared strings put back in place and numbers
// written out in full (a card number stored as a number must reach the detectors as its digits).
import { InspectionReason, UninspectableError } from "./reasons.ts";
import { OoxmlTextHandler } from "./ooxml-text.ts";
import type { TextBudget } from "./text-budget.ts";
import type { XmlHandler } from "./xml-stream.ts";

/** The strings of a workbook, and which of them a cell showed (the others are scanned at the end). */
export class SharedStrings {
  readonly strings: string[] = [];
  readonly #shown = new Set<number>();
  #chars = 0;

  constructor(readonly maxChars: number) {}

  push(text: string): void {
    // Every string reaches the text at least once, so they count against the same budget.
    this.#chars += text.length;
    if (this.#chars > this.maxChars) throw new UninspectableError(InspectionReason.textTooLong);
    this.strings.push(text);
  }

  /** The string a cell of type "s" refers to by index; the raw value when it is no index. */
  show(value: string): string {
    const index = Number(value.trim());
    const text = Number.isInteger(index) ? this.strings[index] : undefined;
    if (text === undefined) return value;
    this.#shown.add(index);
    return text;
  }

  /** The strings no cell showed, in workbook order. */
  unshown(): string[] {
    return this.strings.filter((_, index) => !this.#shown.has(index));
  }
}

/** Reads `<si>` items (plain or rich text, phonetic guides left out) into `into`. */
export class SharedStringsHandler implements XmlHandler {
  readonly #into: SharedStrings;
  #current: string[] | null = null;
  #inText = false;
  #skipDepth = 0;

  constructor(into: SharedStrings) {
    this.#into = into;
  }

  open(name: string): void {
    if (name === "si") this.#current = [];
    else if (name === "rPh" || name === "phoneticPr" || this.#skipDepth > 0) this.#skipDepth++;
    else if (name === "t") this.#inText = true;
  }

  text(text: string): void {
    if (this.#inText && this.#skipDepth === 0) this.#current?.push(text);
  }

  close(name: string): void {
    if (this.#skipDepth > 0) this.#skipDepth--;
    else if (name === "t") this.#inText = false;
    else if (name === "si" && this.#current) {
      this.#into.push(this.#current.join(""));
      this.#current = null;
    }
  }
}

interface Cell {
  /** The `t` attribute: s (shared string), n (number, the default), inlineStr, str, b, e, d. */
  type: string;
  value: string;
  inline: string;
  formula: string;
}

/** Writes a sheet as lines of tab-separated cells; text outside cells (headers, footers) as fields. */
export class WorksheetHandler implements XmlHandler {
  readonly #out: TextBudget;
  readonly #strings: SharedStrings;
  readonly #outside: OoxmlTextHandler;
  #cell: Cell | null = null;
  #element = "";
  #skipDepth = 0;

  constructor(out: TextBudget, strings: SharedStrings) {
    this.#out = out;
    this.#strings = strings;
    this.#outside = new OoxmlTextHandler(out);
  }

  open(name: string, attributes: Readonly<Record<string, string>>): void {
    if (name === "c") {
      this.#cell = { type: attributes["t"] ?? "n", value: "", inline: "", formula: "" };
    } else if (this.#cell) {
      if (name === "rPh" || this.#skipDepth > 0) this.#skipDepth++;
      this.#element = name;
    } else {
      this.#outside.open(name, attributes);
    }
  }

  text(text: string): void {
    const cell = this.#cell;
    if (!cell) return this.#outside.text(text);
    if (this.#skipDepth > 0) return;
    if (this.#element === "v") cell.value += text;
    else if (this.#element === "t") cell.inline += text;
    else if (this.#element === "f") cell.formula += text;
  }

  close(name: string): void {
    const cell = this.#cell;
    if (name === "c" && cell) {
      this.#writeCell(cell);
      this.#cell = null;
    } else if (cell) {
      if (this.#skipDepth > 0) this.#skipDepth--;
      this.#element = "";
    } else {
      this.#outside.close(name); // a row ends a line there
    }
  }

  #writeCell(cell: Cell): void {
    const shown =
      cell.type === "s"
        ? this.#strings.show(cell.value)
        : cell.type === "inlineStr"
          ? cell.inline
          : cell.type === "n"
            ? plainNumber(cell.value)
            : cell.value;
    this.#out.append(shown);
    this.#out.separate("\t");
    if (cell.formula.trim() !== "") {
      this.#out.append(cell.formula); // a formula may hold literals the cached value does not show
      this.#out.separate("\t");
    }
  }
}

/**
 * A number as its plain decimal digits: "4.111111111111111E+15" becomes "4111111111111111". Exact,
 * on the string (no float rounding); other values are returned unchanged.
 */
export function plainNumber(value: string): string {
  const match = /^\s*([+-]?)(\d+)(?:\.(\d*))?[eE]\+?(\d{1,2})\s*$/.exec(value);
  if (!match) return value.trim();
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const integer =
    point >= digits.length ? digits + "0".repeat(point - digits.length) : digits.slice(0, point);
  const rest = point >= digits.length ? "" : digits.slice(point).replace(/0+$/, "");
  const normalised = integer.replace(/^0+(?=\d)/, "");
  return sign + normalised + (rest ? `.${rest}` : "");
}
