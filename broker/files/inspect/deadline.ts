// One clock for a whole inspection: the time budget and the caller's signal, checked between steps.
import { setImmediate as nextTurn } from "node:timers/promises";
import { PACE_MS } from "./limits.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

export class Deadline {
  /** Aborted when the time is up or the caller aborts: hand it to work that can be cancelled. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #endsAt: number;
  readonly #timer: NodeJS.Timeout;
  readonly #outer: AbortSignal | undefined;
  readonly #onOuterAbort = () => this.#controller.abort();
  #lastTurn = performance.now();

  /** @param timeoutMs from now, in milliseconds */
  constructor(timeoutMs: number, outer?: AbortSignal) {
    this.signal = this.#controller.signal;
    this.#endsAt = performance.now() + timeoutMs;
    this.#outer = outer;
    this.#timer = setTimeout(() => this.#controller.abort(), timeoutMs);
    outer?.addEventListener("abort", this.#onOuterAbort, { once: true });
    if (outer?.aborted) this.#controller.abort();
  }

  /** The error that ends the inspection now, or null while there is time left. */
  expired(): UninspectableError | null {
    if (this.#outer?.aborted) return new UninspectableError(InspectionReason.aborted);
    if (this.signal.aborted || performance.now() >= this.#endsAt) {
      return new UninspectableError(InspectionReason.timeout);
    }
    return null;
  }

  /** Throws when the time is up or the caller aborted. */
  check(): void {
    const error = this.expired();
    if (error) throw error;
  }

  /** Checks, and gives the event loop a turn once this inspection has worked `PACE_MS` without one. */
  async pace(): Promise<void> {
    this.check();
    if (performance.now() - this.#lastTurn < PACE_MS) return;
    await nextTurn();
    this.#lastTurn = performance.now();
    this.check();
  }

  /** Settles like `work`, or rejects as soon as the deadline passes (`work` is left to finish alone). */
  async race<T>(work: Promise<T>): Promise<T> {
    this.check();
    work.catch(() => {}); // a late rejection of the abandoned work is not an error of ours
    let onAbort = (): void => {};
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.expired() ?? new UninspectableError(InspectionReason.timeout));
      this.signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([work, stopped]);
    } finally {
      this.signal.removeEventListener("abort", onAbort);
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener("abort", this.#onOuterAbort);
  }
}
