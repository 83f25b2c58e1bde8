// Replaces detected spans before a message is relayed (the `redact` action).
import { MAX_MATCHES_PER_DETECTOR } from "./detectors/index.ts";
import type { Detection } from "./model.ts";

/**
 * Returns `text` with each detected span replaced by `placeholder(detection)`. Overlapping spans
 * merge into one, named by the earliest detection. Offsets are JS string indices, as scans give them.
 * @throws RangeError when a detection's offsets are not finite numbers: better no relay than a leak.
 */
export function redact(
  text: string,
  detections: readonly Detection[],
  placeholder: (detection: Detection) => string = (detection) => `[${detection.type}]`,
): string {
  const spans = detections
    .map((detection) => {
      if (!Number.isFinite(detection.start) || !Number.isFinite(detection.end)) {
        throw new RangeError(`detection ${detection.type} has offsets that are not numbers`);
      }
      const start = clamp(Math.min(detection.start, detection.end), text.length);
      const end = clamp(Math.max(detection.start, detection.end), text.length);
      return { detection, start, end };
    })
    .filter(({ start, end }) => end > start)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: string[] = [];
  let at = 0;
  for (const { detection, start, end } of spans) {
    if (start < at) {
      at = Math.max(at, end); // overlaps the span just replaced: widen it
      continue;
    }
    parts.push(text.slice(at, start), placeholder(detection));
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

function clamp(offset: number, length: number): number {
  return Math.max(0, Math.min(length, Math.floor(offset)));
}

/**
 * False when a type reached the scanner's cap, so more of it may be in the text than was found:
 * such a message cannot be redacted safely and must not be relayed.
 */
export function redactionIsComplete(detections: readonly Detection[]): boolean {
  const counts = new Map<string, number>();
  for (const { type } of detections) {
    const count = (counts.get(type) ?? 0) + 1;
    if (count >= MAX_MATCHES_PER_DETECTOR) return false;
    counts.set(type, count);
  }
  return true;
}
