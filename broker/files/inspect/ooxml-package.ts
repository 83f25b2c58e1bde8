// Recognises an Office Open XML package (ECMA-376 Part 2, Open Packaging Conventions) from its
// [Content_Types].xml, whatever file-type made of the zip, and says what each part is.
import type { Deadline } from "./deadline.ts";
import { extensionOf } from "./text-media-type.ts";
import { XmlStream } from "./xml-stream.ts";
import { inflateEntry, type ExpansionBudget, type ZipEntry } from "./zip.ts";

const OPENXML = "application/vnd.openxmlformats-officedocument.";

/** Media type of the package by the content type of its main part (lower case). */
const PACKAGE_TYPES: Readonly<Record<string, string>> = {
  [`${OPENXML}wordprocessingml.document.main+xml`]: `${OPENXML}wordprocessingml.document`,
  [`${OPENXML}wordprocessingml.template.main+xml`]: `${OPENXML}wordprocessingml.template`,
  "application/vnd.ms-word.document.macroenabled.main+xml":
    "application/vnd.ms-word.document.macroEnabled.12",
  "application/vnd.ms-word.template.macroenabledtemplate.main+xml":
    "application/vnd.ms-word.template.macroEnabled.12",
  [`${OPENXML}spreadsheetml.sheet.main+xml`]: `${OPENXML}spreadsheetml.sheet`,
  [`${OPENXML}spreadsheetml.template.main+xml`]: `${OPENXML}spreadsheetml.template`,
  "application/vnd.ms-excel.sheet.macroenabled.main+xml": "application/vnd.ms-excel.sheet.macroEnabled.12",
  "application/vnd.ms-excel.template.macroenabled.main+xml":
    "application/vnd.ms-excel.template.macroEnabled.12",
  [`${OPENXML}presentationml.presentation.main+xml`]: `${OPENXML}presentationml.presentation`,
  [`${OPENXML}presentationml.slideshow.main+xml`]: `${OPENXML}presentationml.slideshow`,
  [`${OPENXML}presentationml.template.main+xml`]: `${OPENXML}presentationml.template`,
  "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml":
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
  "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml":
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.12",
  "application/vnd.ms-excel.sheet.binary.macroenabled.main":
    "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
};

/** Extensions of Office packages that may sit inside a package (an embedded workbook, a chart's data). */
const PACKAGE_EXTENSIONS = new Set(
  ["doc", "xls", "ppt"]
    .flatMap((base) => [`${base}x`, `${base}m`])
    .concat(["dotx", "dotm", "xltx", "xltm", "potx", "potm", "ppsx", "ppsm"]),
);

/** Pictures, sound and video: content whose text (if any) cannot be read, so the document cannot be either. */
const MEDIA_EXTENSIONS = new Set(
  (
    "png jpg jpeg jpe gif bmp dib tif tiff emf wmf emz wmz svg svgz webp ico wdp jxr hdp heic heif avif " +
    "mp3 m4a wav wma aac ogg oga mp4 m4v mov avi wmv mpg mpeg webm"
  ).split(" "),
);
/** Fonts: the shapes of letters, no content of the document; left alone. */
const FONT_EXTENSIONS = new Set(["ttf", "otf", "odttf", "fntdata", "woff", "woff2"]);

export const PartKind = {
  /** Nothing to read: folders, empty parts, relationships, the content types list, fonts, printer settings. */
  skip: "skip",
  /** A picture, sound or video (word/media/*, ppt/media/*, xl/media/*, a thumbnail): it cannot be read. */
  picture: "picture",
  /** XML whose text is read. */
  xml: "xml",
  /** The strings of a workbook, read before its sheets. */
  sharedStrings: "sharedStrings",
  /** A sheet of cells. */
  worksheet: "worksheet",
  /** An Office package inside this one. */
  package: "package",
  /** Anything else (OLE objects, macros, binary parts): it cannot be inspected. */
  opaque: "opaque",
} as const;
export type PartKind = (typeof PartKind)[keyof typeof PartKind];

export interface OoxmlPackage {
  /** The package's media type, from its main part. */
  mediaType: string;
  /** False for formats whose parts are binary (xlsb): recognised, not inspectable. */
  readable: boolean;
  /** Zip entry name of the main part (word/document.xml, xl/workbook.xml, ppt/presentation.xml). */
  mainPart: string;
  /** The content type of an entry, in lower case ("" when the package declares none). */
  contentTypeOf(entryName: string): string;
  kindOf(entry: ZipEntry): PartKind;
}

/** The package, or null when the zip has no [Content_Types].xml naming an Office main part. */
export async function openOoxmlPackage(
  bytes: Uint8Array,
  entries: readonly ZipEntry[],
  budget: ExpansionBudget,
  deadline: Deadline,
): Promise<OoxmlPackage | null> {
  const listEntry = entries.find((entry) => entry.name === "[Content_Types].xml");
  if (!listEntry) return null;
  const byExtension = new Map<string, string>();
  const byPart = new Map<string, string>();
  const xml = new XmlStream({
    open(name, attributes) {
      const type = attributes["ContentType"]?.toLowerCase();
      if (type === undefined) return;
      if (name === "Default" && attributes["Extension"])
        byExtension.set(attributes["Extension"].toLowerCase(), type);
      if (name === "Override" && attributes["PartName"]) byPart.set(partKey(attributes["PartName"]), type);
    },
    text() {},
    close() {},
  });
  await inflateEntry(bytes, listEntry, budget, deadline, (chunk) => xml.write(chunk));
  xml.end();

  const contentTypeOf = (entryName: string): string =>
    byPart.get(partKey(entryName)) ?? byExtension.get(extensionOf(entryName)) ?? "";
  const main = entries.find((entry) => PACKAGE_TYPES[contentTypeOf(entry.name)] !== undefined);
  if (!main) return null;
  const mainType = contentTypeOf(main.name);
  return {
    mediaType: PACKAGE_TYPES[mainType] ?? "application/zip",
    readable: mainType.endsWith("+xml"),
    mainPart: main.name,
    contentTypeOf,
    kindOf: (entry) => (entry.size === 0 ? PartKind.skip : partKind(entry.name, contentTypeOf(entry.name))),
  };
}

/** Part names compare without the leading slash and ignoring case (OPC §9.1.1.2). */
function partKey(name: string): string {
  return (name.startsWith("/") ? name.slice(1) : name).toLowerCase();
}

function partKind(name: string, type: string): PartKind {
  const extension = extensionOf(name);
  if (name.endsWith("/") || name === "[Content_Types].xml") return PartKind.skip;
  // Before the XML types: an SVG picture is XML, and its text is drawn, not read.
  if (/^(image|audio|video|model)\//.test(type) || MEDIA_EXTENSIONS.has(extension)) return PartKind.picture;
  if (type.endsWith("relationships+xml") || extension === "rels") return PartKind.skip;
  if (type.endsWith(".sharedstrings+xml")) return PartKind.sharedStrings;
  if (type.endsWith(".worksheet+xml") || type.endsWith(".macrosheet+xml")) return PartKind.worksheet;
  if (type.endsWith("+xml") || type === "application/xml" || type === "text/xml") return PartKind.xml;
  if (type === "" && extension === "xml") return PartKind.xml;
  if (type.startsWith("font/") || FONT_EXTENSIONS.has(extension)) return PartKind.skip;
  if (type.includes("obfuscatedfont") || type.endsWith(".printersettings")) return PartKind.skip;
  if (type === "application/vnd.openxmlformats-package.digital-signature-origin") return PartKind.skip; // empty marker
  if (PACKAGE_EXTENSIONS.has(extension)) return PartKind.package;
  return PartKind.opaque;
}
