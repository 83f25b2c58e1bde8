// The text of an Office package (DOCX, XLSX, PPTX and their macro and template variants): every XML
// part is read, the main part first, sheets with their strings in place; fonts are skipped; a
// package inside the package is read in turn; a picture, sound or video, or anything else that is
// not XML, makes the file uninspectable (its content cannot be read: no OCR).
import type { Deadline } from "./deadline.ts";
import { MAX_PACKAGE_DEPTH } from "./limits.ts";
import { openOoxmlPackage, PartKind, type OoxmlPackage } from "./ooxml-package.ts";
import { OoxmlTextHandler } from "./ooxml-text.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";
import type { TextBudget } from "./text-budget.ts";
import { SharedStrings, SharedStringsHandler, WorksheetHandler } from "./xlsx.ts";
import { XmlStream, type XmlHandler } from "./xml-stream.ts";
import {
  inflateEntry,
  readEntryBytes,
  readZipDirectory,
  type ExpansionBudget,
  type ZipEntry,
} from "./zip.ts";

export interface PackageReading {
  out: TextBudget;
  expansion: ExpansionBudget;
  deadline: Deadline;
  /** A package inside the package larger than this is not read (uninspectable). */
  maxBytes: number;
}

const byNumberedName = new Intl.Collator("en", { numeric: true }).compare;

/** Appends the text of the package to `reading.out`; throws `UninspectableError` when it cannot. */
export async function readPackageText(
  bytes: Uint8Array,
  entries: readonly ZipEntry[],
  pkg: OoxmlPackage,
  reading: PackageReading,
  depth = 0,
): Promise<void> {
  if (!pkg.readable) throw new UninspectableError(InspectionReason.unsupported);
  const parts = entries.map((entry) => ({ entry, kind: pkg.kindOf(entry) }));
  if (parts.some(({ kind }) => kind === PartKind.opaque))
    throw new UninspectableError(InspectionReason.embedded);
  if (parts.some(({ kind }) => kind === PartKind.picture))
    throw new UninspectableError(InspectionReason.pictures);

  const strings = new SharedStrings(reading.out.maxChars);
  for (const { entry } of parts.filter(({ kind }) => kind === PartKind.sharedStrings)) {
    await readXmlPart(bytes, entry, new SharedStringsHandler(strings), reading);
  }
  const textParts = parts
    .filter(({ kind }) => kind === PartKind.xml || kind === PartKind.worksheet)
    .sort(
      (a, b) =>
        readingOrder(pkg, a.entry) - readingOrder(pkg, b.entry) || byNumberedName(a.entry.name, b.entry.name),
    );
  for (const { entry, kind } of textParts) {
    const handler =
      kind === PartKind.worksheet
        ? new WorksheetHandler(reading.out, strings)
        : new OoxmlTextHandler(reading.out, {
            attributeText: pkg.contentTypeOf(entry.name).includes("pivotcache") ? ["v"] : [],
          });
    await readXmlPart(bytes, entry, handler, reading);
    reading.out.separate("\n");
  }
  for (const text of strings.unshown()) {
    reading.out.append(text);
    reading.out.separate("\n");
  }
  for (const { entry } of parts.filter(({ kind }) => kind === PartKind.package)) {
    await readNestedPackage(bytes, entry, reading, depth + 1);
  }
}

/** Main part first, then the body of the document (slides, sheets, headers, notes), then the rest. */
function readingOrder(pkg: OoxmlPackage, entry: ZipEntry): number {
  if (entry.name === pkg.mainPart) return 0;
  const type = pkg.contentTypeOf(entry.name);
  if (/\.(slide|worksheet|macrosheet|header|footer|footnotes|endnotes)\+xml$/.test(type)) return 1;
  if (/\.(notesslide|comments)\+xml$/.test(type)) return 2;
  return 3;
}

async function readXmlPart(bytes: Uint8Array, entry: ZipEntry, handler: XmlHandler, reading: PackageReading) {
  const xml = new XmlStream(handler);
  await inflateEntry(bytes, entry, reading.expansion, reading.deadline, (chunk) => xml.write(chunk));
  xml.end();
}

async function readNestedPackage(bytes: Uint8Array, entry: ZipEntry, reading: PackageReading, depth: number) {
  if (depth > MAX_PACKAGE_DEPTH) throw new UninspectableError(InspectionReason.embedded);
  if (entry.size > reading.maxBytes) throw new UninspectableError(InspectionReason.tooLarge);
  const nested = await readEntryBytes(bytes, entry, reading.expansion, reading.deadline);
  const nestedEntries = readZipDirectory(nested);
  const pkg = await openOoxmlPackage(nested, nestedEntries, reading.expansion, reading.deadline);
  if (!pkg) throw new UninspectableError(InspectionReason.embedded);
  reading.out.separate("\n");
  await readPackageText(nested, nestedEntries, pkg, reading, depth);
}
