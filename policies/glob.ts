// Globs for titles and channels: `*` is any run of characters, `?` any one; nothing else is special.
// Matched by the two-pointer wildcard walk, not a RegExp, so no glob can backtrack exponentially.

/** A case-insensitive, whole-string matcher for `glob`. */
export function compileGlob(glob: string): (value: string) => boolean {
  const pattern = Array.from(glob.toLowerCase());
  return (value) => wildcard(pattern, Array.from(value.toLowerCase()));
}

function wildcard(pattern: readonly string[], text: readonly string[]): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p += 1;
      t += 1;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p;
      resume = t;
      p += 1;
    } else if (star >= 0) {
      // Let the last star swallow one more character and retry from there.
      p = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p += 1;
  return p === pattern.length;
}
