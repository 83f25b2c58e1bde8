// A counting semaphore: at most `capacity` holders at a time, the others wait in arrival order, each
// only until its own signal aborts (an inspection waits within its deadline, never past it).

export class Gate {
  readonly #capacity: number;
  readonly #waiting: (() => void)[] = [];
  #holders = 0;

  /** @param capacity holders at a time (at least 1) */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Holders now (for tests and metrics). */
  get holders(): number {
    return this.#holders;
  }

  /**
   * Waits for a place; resolves to the function that gives it back (calling it twice is harmless).
   * Rejects with the signal's reason when it aborts first, and then holds no place.
   */
  async enter(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#holders < this.#capacity) return this.#hold();
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(wake);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(wake);
    });
    // The place was handed over by the holder that left: counted already.
    return this.#releaser();
  }

  #hold(): () => void {
    this.#holders++;
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next)
        next(); // the place passes straight to the next in line
      else this.#holders--;
    };
  }
}
