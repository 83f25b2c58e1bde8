// The extracted text, built piece by piece, that refuses to grow past the character budget.
import { InspectionReason, UninspectableError } from "./reasons.ts";

export type Separator = "\n" | "\t";

export class TextBudget {
  readonly #parts: string[] = [];
  #length = 0;
  #lastChar = "";

  constructor(readonly maxChars: number) {}

  get length(): number {
    return this.#length;
  }

  /** Appends text as is; throws (text too long) once the budget is exceeded. */
  append(text: string): void {
    if (text.length === 0) return;
    this.#length += text.length;
    if (this.#length > this.maxChars) throw new UninspectableError(InspectionReason.textTooLong);
    this.#parts.push(text);
    this.#lastChar = text.charAt(text.length - 1);
  }

  /**
   * Ends a cell, field or paragraph, so its digits never run into the next one's. Nothing at the
   * start, and nothing after a line break or the same separator.
   */
  separate(separator: Separator): void {
    if (this.#length === 0 || this.#lastChar === "\n" || this.#lastChar === separator) return;
    this.append(separator);
  }

  toString(): string {
    return this.#parts.join("");
  }
}
