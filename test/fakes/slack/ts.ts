// Slack message timestamps: "<unix seconds>.<6 digits>", unique and increasing within a channel.
// https://docs.slack.dev/reference/methods/chat.postMessage (the `ts` of a message is its id in its channel)

const MICROS_PER_SECOND = 1_000_000;
const TS_PATTERN = /^(\d+)(?:\.(\d{1,6})\d*)?$/;

/** A timestamp string as whole microseconds since the epoch, or null when it is not one. */
export function parseTs(ts: string): number | null {
  const match = TS_PATTERN.exec(ts.trim());
  if (match === null) return null;
  const seconds = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(6, "0"));
  const micros = seconds * MICROS_PER_SECOND + fraction;
  return Number.isSafeInteger(micros) ? micros : null;
}

export function formatTs(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND);
  const fraction = String(micros % MICROS_PER_SECOND).padStart(6, "0");
  return `${seconds}.${fraction}`;
}

/** Hands out strictly increasing timestamps that follow the wall clock. */
export class TsClock {
  private last = 0;

  constructor(private readonly now: () => number) {}

  next(): string {
    this.last = Math.max(Math.floor(this.now()) * 1000, this.last + 1);
    return formatTs(this.last);
  }
}
