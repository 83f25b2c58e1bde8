// Small helpers shared by the benchmark parts: settings from the environment, percentiles,
// bounded concurrency, number formatting and Markdown tables.
import { randomBytes } from "node:crypto";
import type { TestDatabase } from "../helpers/services.ts";

/** An integer of at least `min` from the environment, or the default. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer of at least ${min}, got '${raw}'`);
  }
  return value;
}

/** A comma-separated list of integers of at least `min` from the environment, or the default. */
export function envIntList(name: string, fallback: number[], min = 1): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < min)) {
    throw new Error(`${name} must be a comma-separated list of integers of at least ${min}, got '${raw}'`);
  }
  return values;
}

/** Nearest-rank percentile of already sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

/**
 * Runs `task(i)` for i in [0, total) with at most `concurrency` tasks in flight: each lane takes the
 * next index as soon as its previous task settled. A task that throws is counted, not retried.
 */
export async function runLanes(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<{ failures: number; firstError: string | null }> {
  let next = 0;
  let failures = 0;
  let firstError: string | null = null;
  const lane = async () => {
    for (;;) {
      const index = next++;
      if (index >= total) return;
      try {
        await task(index);
      } catch (error) {
        failures += 1;
        firstError ??= errorText(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return { failures, firstError };
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.split("\n")[0] ?? error.name;
  return String(error);
}

/**
 * Ordinary office chat: times, dates, amounts, ticket numbers, a URL, an e-mail address and a phone
 * number (which the default policy reports but does not treat as sensitive), nothing that should
 * make a conversation sensitive.
 */
const sentences = [
  "Can we move the standup to 10:30 tomorrow?",
  "Sure, I'll send the notes right after.",
  "The build on main is green again since 14:05.",
  "Ticket OPS-4821 is waiting for review, 3 files changed.",
  "Lunch at the usual place at 12:15, table for 6.",
  "The offsite is on 2026-12-14, agenda in the shared folder.",
  "Release 3.18.2 went out to 40% of users this morning.",
  "Invoice total came to 1,240.50 EUR including shipping.",
  "See https://wiki.example.com/onboarding/week-1 for the checklist.",
  "Ping me at jamie.lee@example.com if the printer jams again.",
  "The vendor's support line is +44 20 7946 0958, ask for Sam.",
  "Room 4B is booked from 15:00 to 16:30 for the design review.",
  "Latency p99 dropped from 310 ms to 95 ms after the fix.",
  "Thanks everyone, great demo today!",
  "I'm out on Friday, back on Monday the 8th.",
  "Order #88213 shipped, tracking should update tonight.",
];

/** Chat text of exactly `bytes` ASCII bytes, from the sentences above in a shuffled order. */
export function chatText(bytes: number): string {
  let text = "";
  while (text.length < bytes) {
    const sentence = sentences[Math.floor(Math.random() * sentences.length)] as string;
    text += text.length === 0 ? sentence : ` ${sentence}`;
  }
  return text.slice(0, bytes).trimEnd().padEnd(bytes, ".");
}

/** Printable ASCII words, exactly `bytes` long, different on each call. */
export function randomText(bytes: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  const random = randomBytes(bytes);
  let text = "";
  for (let i = 0; i < bytes; i++) {
    // Roughly one space every six characters, never first or last.
    const r = random[i] as number;
    text += i > 0 && i < bytes - 1 && r % 6 === 0 ? " " : alphabet[r % alphabet.length];
  }
  return text;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A number with thousands separators and `digits` decimals; "n/a" when it is not finite. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A throughput: no decimals from 100 up, one below. */
export function rate(value: number): string {
  return num(value, Math.abs(value) >= 100 ? 0 : 1);
}

/** A latency in milliseconds with sensible precision. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return num(value, value >= 100 ? 0 : value >= 10 ? 1 : 2);
}

export function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return "n/a";
  return `${num(ratio * 100, ratio * 100 >= 10 ? 0 : 1)} %`;
}

export const MiB = 1024 * 1024;

export type Align = "left" | "right";

export interface Column {
  title: string;
  align?: Align;
}

/** A Markdown table padded the way Prettier formats one. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|").replaceAll("\n", " ");
  const cells = [columns.map((c) => escape(c.title)), ...rows.map((row) => row.map(escape))];
  const widths = columns.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    `| ${columns
      .map((column, i) => {
        const cell = row[i] ?? "";
        const width = widths[i] as number;
        return column.align === "right" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(" | ")} |`;
  const rule = `| ${columns
    .map((column, i) => {
      const width = widths[i] as number;
      return column.align === "right" ? `${"-".repeat(width - 1)}:` : "-".repeat(width);
    })
    .join(" | ")} |`;
  return [line(cells[0] as string[]), rule, ...cells.slice(1).map(line)].join("\n");
}

/** A right-aligned (numbers) or left-aligned column. */
export const R = (title: string): Column => ({ title, align: "right" });
export const L = (title: string): Column => ({ title });

/** Bytes as whole MiB; "n/a" when unknown. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : num(bytes / MiB, 0);
}

/**
 * `drop()` ends the pool, whose clients close in the background, then forces the database away: a
 * client still closing gets "terminating connection" (57P01), which must not crash the bench.
 */
export function ignoreClosingErrors(db: TestDatabase): void {
  db.pool.on("error", () => undefined);
}
