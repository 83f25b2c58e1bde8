// Whether a file's bytes are what its name says, for names of binary formats. The inspection reads
// the bytes, the receiver's application goes by the name: when they disagree (text named .pdf,
// which a PDF reader may still render from its objects), what was inspected is not what is seen.
import { Family } from "./media-type.ts";
import { extensionOf } from "./text-media-type.ts";

const OFFICE_PACKAGE: readonly Family[] = [Family.zip, Family.cfb]; // cfb: an encrypted package
const ZIP_BASED: readonly Family[] = [Family.zip];
const ARCHIVE: readonly Family[] = [Family.archive, Family.zip];
const IMAGE: readonly Family[] = [Family.image];
const AUDIO_VIDEO: readonly Family[] = [Family.audioVideo];

/**
 * Families the bytes may be in, by extension (lower case): formats whose readers need their
 * signature. Legacy Office names are left out: a ".xls" exported as HTML or CSV is common, and its
 * text is what a spreadsheet shows.
 */
const BY_EXTENSION: Readonly<Record<string, readonly Family[]>> = {
  pdf: [Family.pdf],
  ...Object.fromEntries(
    "docx docm dotx dotm xlsx xlsm xltx xltm xlsb pptx pptm potx potm ppsx ppsm"
      .split(" ")
      .map((extension) => [extension, OFFICE_PACKAGE]),
  ),
  ...Object.fromEntries("odt ods odp odg epub".split(" ").map((extension) => [extension, ZIP_BASED])),
  ...Object.fromEntries(
    "zip jar apk gz tgz bz2 xz zst 7z rar tar".split(" ").map((extension) => [extension, ARCHIVE]),
  ),
  ...Object.fromEntries(
    "png jpg jpeg gif bmp webp tif tiff heic heif avif ico".split(" ").map((extension) => [extension, IMAGE]),
  ),
  ...Object.fromEntries(
    "mp3 m4a wav flac ogg oga opus mp4 m4v mov avi mkv webm wmv"
      .split(" ")
      .map((extension) => [extension, AUDIO_VIDEO]),
  ),
};

/** False when `name` names a binary format and the bytes (sniffed as `family`) are something else. */
export function contentMatchesName(name: string, family: Family): boolean {
  const expected = BY_EXTENSION[extensionOf(name)];
  return expected === undefined || expected.includes(family);
}
