// Decides whether bytes are text, and in which encoding: UTF-8, UTF-16 with a byte order mark, or
// GB 18030 (Chinese Windows exports), with no NUL and next to no other control characters.

export const TextEncoding = {
  utf8: "utf-8",
  utf16le: "utf-16le",
  utf16be: "utf-16be",
  gb18030: "gb18030",
} as const;
export type TextEncoding = (typeof TextEncoding)[keyof typeof TextEncoding];

/** Control characters allowed in text, per thousand characters (stray form feeds, escapes in logs). */
const MAX_CONTROLS_PER_MILLE = 5;

/** The encoding of `head` (the first bytes of a file) when it reads as clean text; null otherwise. */
export function detectTextEncoding(head: Uint8Array): TextEncoding | null {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return cleanIn(head, TextEncoding.utf16le);
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return cleanIn(head, TextEncoding.utf16be);
  return cleanIn(head, TextEncoding.utf8) ?? cleanIn(head, TextEncoding.gb18030);
}

function cleanIn(head: Uint8Array, encoding: TextEncoding): TextEncoding | null {
  let text: string;
  try {
    // `stream: true` tolerates a character cut in two at the end of the head.
    text = new TextDecoder(encoding, { fatal: true }).decode(head, { stream: true });
  } catch {
    return null;
  }
  return isCleanText(text) ? encoding : null;
}

/** No NUL, and control characters other than tab, line breaks, form feed and escape are rare. */
export function isCleanText(text: string): boolean {
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return false;
    if (
      (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d && code !== 0x0c && code !== 0x1b) ||
      code === 0x7f
    ) {
      controls++;
    }
  }
  return controls * 1000 <= text.length * MAX_CONTROLS_PER_MILLE;
}
