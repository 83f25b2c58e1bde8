// Custom patterns run on the hot path, synchronously, over text anyone can send. An unbounded
// repeat (`*`, `+`, `{n,}`) makes a scan quadratic or worse on crafted input and would stall the
// broker, so custom patterns must bound every repeat.

/** The longest repeat a custom pattern may ask for. */
export const maxCustomRepeat = 256;

/** Why the pattern is refused, or null when every repeat is bounded. */
export function unboundedRepeatProblem(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\") {
      i++; // an escaped character is a literal, whatever it is
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      continue;
    }
    if (char === "[") {
      inClass = true;
      continue;
    }
    if (char === "*" || char === "+") {
      return `unbounded repeat '${char}' at offset ${i}: use a bounded one such as {1,${maxCustomRepeat}}`;
    }
    if (char === "{") {
      const range = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!range) continue; // a literal brace
      if (range[2] !== undefined && range[3] === "") {
        return `unbounded repeat '${range[0]}' at offset ${i}: give an upper bound of at most ${maxCustomRepeat}`;
      }
      const upper = Number(range[3] ?? range[1]);
      if (upper > maxCustomRepeat) return `repeat '${range[0]}' at offset ${i} exceeds ${maxCustomRepeat}`;
      i += range[0].length - 1;
    }
  }
  return null;
}
