// Files for the inspection tests, built in memory from their published formats: no binary fixture
// is committed. Not part of the public surface.
import { constants as zlibConstants, deflateRawSync } from "node:zlib";
import { strToU8, zipSync, type Zippable } from "fflate";

const OPENXML = "application/vnd.openxmlformats-officedocument";
const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"';
const P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
const S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

/** An Office package: `[Content_Types].xml` (listed first unless `contentTypesLast`) and the parts. */
export function ooxmlPackage(
  parts: Record<string, string | Uint8Array>,
  overrides: Record<string, string>,
  options: { contentTypesLast?: boolean; defaults?: Record<string, string> } = {},
): Uint8Array {
  const defaults = {
    rels: "application/vnd.openxmlformats-package.relationships+xml",
    xml: "application/xml",
    ...options.defaults,
  };
  const contentTypes =
    XML_DECL +
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    Object.entries(defaults)
      .map(([extension, type]) => `<Default Extension="${extension}" ContentType="${type}"/>`)
      .join("") +
    Object.entries(overrides)
      .map(([part, type]) => `<Override PartName="/${part}" ContentType="${type}"/>`)
      .join("") +
    "</Types>";
  const files: Zippable = {};
  const list = strToU8(contentTypes);
  if (!options.contentTypesLast) files["[Content_Types].xml"] = list;
  files["_rels/.rels"] = strToU8(
    XML_DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
  );
  for (const [name, content] of Object.entries(parts)) {
    files[name] = typeof content === "string" ? strToU8(content) : content;
  }
  if (options.contentTypesLast) files["[Content_Types].xml"] = list;
  return zipSync(files);
}

const WP = 'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"';
const PIC = 'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"';
const R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';

/**
 * A DOCX body with one inline drawing (DrawingML, ECMA-376 Part 1 §20.4) whose `wp:docPr` has
 * `altText` as its description: a picture (`a:blip` referencing `r:embed` or, linked, `r:link`), or a
 * chart (no picture). Caption text follows the drawing.
 */
export function docxWithDrawing(
  caption: string,
  drawing: { kind: "picture" | "linkedPicture" | "chart"; altText?: string },
  extra: ExtraParts = {},
): Uint8Array {
  const graphic =
    drawing.kind === "chart"
      ? '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="rId9"/></a:graphicData>'
      : '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="image1.png"/><pic:cNvPicPr/></pic:nvPicPr>' +
        `<pic:blipFill><a:blip ${drawing.kind === "picture" ? 'r:embed="rId9"' : 'r:link="rId9"'}/></pic:blipFill></pic:pic></a:graphicData>`;
  const alt = drawing.altText === undefined ? "" : ` descr="${drawing.altText}"`;
  const body =
    `<w:p><w:r><w:drawing><wp:inline><wp:extent cx="100" cy="100"/><wp:docPr id="1" name="Drawing 1"${alt}/>` +
    `<a:graphic>${graphic}</a:graphic></wp:inline></w:drawing></w:r></w:p>${wordParagraph(caption)}`;
  return docx(
    [],
    {
      parts: {
        "word/document.xml": `${XML_DECL}<w:document ${W} ${WP} ${A} ${PIC} ${R}><w:body>${body}</w:body></w:document>`,
        ...extra.parts,
      },
    },
    extra.defaults ? { defaults: extra.defaults } : {},
  );
}

/** A run per piece, so a number split over runs must be joined back. */
const wordParagraph = (...runs: string[]): string =>
  `<w:p>${runs.map((run) => `<w:r><w:t xml:space="preserve">${run}</w:t></w:r>`).join("")}</w:p>`;

export function docx(
  body: string[][],
  extra: {
    header?: string;
    footer?: string;
    footnote?: string;
    parts?: Record<string, string | Uint8Array>;
  } = {},
  options: { contentTypesLast?: boolean; defaults?: Record<string, string> } = {},
): Uint8Array {
  const parts: Record<string, string | Uint8Array> = {
    "word/document.xml": `${XML_DECL}<w:document ${W}><w:body>${body.map((runs) => wordParagraph(...runs)).join("")}</w:body></w:document>`,
    ...extra.parts,
  };
  const overrides: Record<string, string> = {
    "word/document.xml": `${OPENXML}.wordprocessingml.document.main+xml`,
  };
  if (extra.header) {
    parts["word/header1.xml"] = `${XML_DECL}<w:hdr ${W}>${wordParagraph(extra.header)}</w:hdr>`;
    overrides["word/header1.xml"] = `${OPENXML}.wordprocessingml.header+xml`;
  }
  if (extra.footer) {
    parts["word/footer1.xml"] = `${XML_DECL}<w:ftr ${W}>${wordParagraph(extra.footer)}</w:ftr>`;
    overrides["word/footer1.xml"] = `${OPENXML}.wordprocessingml.footer+xml`;
  }
  if (extra.footnote) {
    parts["word/footnotes.xml"] =
      `${XML_DECL}<w:footnotes ${W}><w:footnote w:id="1">${wordParagraph(extra.footnote)}</w:footnote></w:footnotes>`;
    overrides["word/footnotes.xml"] = `${OPENXML}.wordprocessingml.footnotes+xml`;
  }
  return ooxmlPackage(parts, overrides, options);
}

/** A cell: a string goes to the shared strings, `{ inline }` stays in the cell, a number is a number. */
export type CellValue = string | number | { inline: string } | { raw: string };

/** Parts added to a package, and content types by extension for them. */
export interface ExtraParts {
  parts?: Record<string, string | Uint8Array>;
  defaults?: Record<string, string>;
}

export function xlsx(
  rows: CellValue[][],
  options: { unusedStrings?: string[] } & ExtraParts = {},
): Uint8Array {
  const strings: string[] = [];
  const sheetRows = rows.map((cells, r) => {
    const xmlCells = cells.map((value, c) => {
      const ref = `${String.fromCharCode(65 + c)}${r + 1}`;
      if (typeof value === "number") return `<c r="${ref}"><v>${value}</v></c>`;
      if (typeof value === "string") {
        strings.push(value);
        return `<c r="${ref}" t="s"><v>${strings.length - 1}</v></c>`;
      }
      if ("raw" in value) return `<c r="${ref}"><v>${value.raw}</v></c>`;
      return `<c r="${ref}" t="inlineStr"><is><t>${value.inline}</t></is></c>`;
    });
    return `<row r="${r + 1}">${xmlCells.join("")}</row>`;
  });
  const allStrings = [...strings, ...(options.unusedStrings ?? [])];
  return ooxmlPackage(
    {
      "xl/workbook.xml": `${XML_DECL}<workbook ${S}><sheets><sheet name="S1" sheetId="1"/></sheets></workbook>`,
      "xl/worksheets/sheet1.xml": `${XML_DECL}<worksheet ${S}><sheetData>${sheetRows.join("")}</sheetData></worksheet>`,
      "xl/sharedStrings.xml":
        `${XML_DECL}<sst ${S} count="${allStrings.length}" uniqueCount="${allStrings.length}">` +
        allStrings.map((text) => `<si><t>${text}</t></si>`).join("") +
        "</sst>",
      ...options.parts,
    },
    {
      "xl/workbook.xml": `${OPENXML}.spreadsheetml.sheet.main+xml`,
      "xl/worksheets/sheet1.xml": `${OPENXML}.spreadsheetml.worksheet+xml`,
      "xl/sharedStrings.xml": `${OPENXML}.spreadsheetml.sharedStrings+xml`,
    },
    options.defaults ? { defaults: options.defaults } : {},
  );
}

/** A presentation whose slides are numbered as given (slide2 before slide10). */
export function pptx(slides: Record<number, string>, extra: ExtraParts = {}): Uint8Array {
  const parts: Record<string, string | Uint8Array> = {
    "ppt/presentation.xml": `${XML_DECL}<p:presentation ${P}/>`,
    ...extra.parts,
  };
  const overrides: Record<string, string> = {
    "ppt/presentation.xml": `${OPENXML}.presentationml.presentation.main+xml`,
  };
  for (const [number, text] of Object.entries(slides)) {
    parts[`ppt/slides/slide${number}.xml`] =
      `${XML_DECL}<p:sld ${P} ${A}><p:cSld><p:spTree><p:sp><p:txBody>` +
      `<a:p><a:r><a:t>${text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`;
    overrides[`ppt/slides/slide${number}.xml`] = `${OPENXML}.presentationml.slide+xml`;
  }
  return ooxmlPackage(parts, overrides, extra.defaults ? { defaults: extra.defaults } : {});
}

/** A PDF object: a dictionary (or any value) as PDF syntax, or a stream with its dictionary entries. */
export type PdfObject = string | { dict: string; stream: Uint8Array };

/** Writes a PDF 1.4 file from its objects (numbered from 1, the first the catalog), offsets computed. */
export function pdfFile(
  objects: PdfObject[],
  options: { trailer?: string; prefix?: string } = {},
): Uint8Array {
  const pieces: Buffer[] = [];
  let length = 0;
  const write = (piece: string | Uint8Array) => {
    const bytes = typeof piece === "string" ? Buffer.from(piece, "latin1") : Buffer.from(piece);
    pieces.push(bytes);
    length += bytes.length;
  };
  write(`${options.prefix ?? ""}%PDF-1.4\n`);
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    if (typeof body === "string") {
      write(`${i + 1} 0 obj\n${body}\nendobj\n`);
    } else {
      write(`${i + 1} 0 obj\n<< ${body.dict} /Length ${body.stream.length} >>\nstream\n`);
      write(body.stream);
      write("\nendstream\nendobj\n");
    }
  });
  const xref = length;
  write(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`);
  write(offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join(""));
  write(
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${options.trailer ?? ""} >>\nstartxref\n${xref}\n%%EOF\n`,
  );
  return new Uint8Array(Buffer.concat(pieces));
}

export interface PdfOptions {
  /** A standard security handler whose user password is not empty. */
  encrypted?: boolean;
  /** A predefined CMap for a Chinese CID font (STSong-Light, not embedded) instead of Helvetica. */
  cmap?: string;
  /** A 1x1 picture drawn on the page: an image XObject, an inline image, or an image mask. */
  picture?: "xobject" | "inline" | "mask";
  /** Annotation dictionaries on the page (PDF syntax); `EMBEDDED` stands for an embedded file stream. */
  annotations?: string[];
  /** A second page: one that draws nothing, or one that draws a filled path and no text. */
  secondPage?: "blank" | "drawing";
  /** Bytes before the `%PDF-` header (leading junk, as a polyglot has). */
  prefix?: string;
}

/**
 * A PDF 1.4 whose first page draws `lines`. The font is Helvetica (a standard Type 1 font, not
 * embedded), or with `cmap` a Chinese CID font whose text is UCS-2 through that predefined CMap
 * (UniGB-UCS2-H, as Chinese PDFs use).
 */
export function pdf(lines: string[], options: PdfOptions = {}): Uint8Array {
  const content = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"];
  for (const line of lines) {
    const shown = options.cmap
      ? `<${Buffer.from(line, "utf16le").swap16().toString("hex")}>`
      : `(${line.replace(/[()\\]/g, (c) => `\\${c}`)})`;
    content.push(`${shown} Tj T*`);
  }
  content.push("ET");
  if (options.picture === "xobject") content.push("q 100 0 0 100 72 500 cm /Im1 Do Q");
  if (options.picture === "mask") content.push("q 100 0 0 100 72 500 cm /Mask1 Do Q");
  if (options.picture === "inline")
    content.push("q 100 0 0 100 72 500 cm BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI Q");
  const font = options.cmap
    ? `<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-${options.cmap} /Encoding /${options.cmap} /DescendantFonts [7 0 R] >>`
    : "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  const objects: PdfObject[] = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "", // the page tree, once the pages are known
    "", // the first page, once its resources are known
    font,
    { dict: "", stream: Buffer.from(content.join("\n"), "latin1") },
    {
      dict: "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8",
      stream: new Uint8Array([0x80]),
    },
    options.cmap
      ? "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 8 0 R >>"
      : "null",
    "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    {
      dict: "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ImageMask true /BitsPerComponent 1",
      stream: new Uint8Array([0x80]),
    },
    { dict: "/Type /EmbeddedFile", stream: Buffer.from(`Card ${"4111111111111111"}\n`) },
  ];
  const annotations = (options.annotations ?? []).map((annotation) =>
    annotation.replaceAll("EMBEDDED", "10 0 R"),
  );
  const resources = "/Font << /F1 4 0 R >> /XObject << /Im1 6 0 R /Mask1 9 0 R >>";
  objects[2] =
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << ${resources} >> /Contents 5 0 R` +
    (annotations.length > 0 ? ` /Annots [${annotations.join(" ")}]` : "") +
    " >>";
  const kids = ["3 0 R"];
  if (options.secondPage) {
    const drawing = options.secondPage === "drawing" ? "0 0 1 rg 72 72 200 200 re f" : "q Q";
    objects.push({ dict: "", stream: Buffer.from(drawing, "latin1") });
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${objects.length} 0 R >>`);
    kids.push(`${objects.length} 0 R`);
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.join(" ")}] /Count ${kids.length} >>`;
  const hex = (bytes: number) => `<${"ab".repeat(bytes)}>`;
  let trailer = "";
  if (options.encrypted) {
    objects.push(`<< /Filter /Standard /V 1 /R 2 /O ${hex(32)} /U ${hex(32)} /P -4 >>`);
    trailer = ` /Encrypt ${objects.length} 0 R /ID [${hex(16)} ${hex(16)}]`;
  }
  return pdfFile(objects, { trailer, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
}

/**
 * A zlib stream (RFC 1950) that inflates to `mebibytes` MiB of zero bytes, about 1,000 times its
 * size: one fully flushed deflate block of 1 MiB of zeros, repeated, then an empty final block.
 */
export function zerosDeflated(mebibytes: number): Uint8Array {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), {
    level: 9,
    finishFlush: zlibConstants.Z_FULL_FLUSH,
  });
  const size = mebibytes * 1024 * 1024;
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((size % 65521) << 16) | 1) >>> 0); // Adler-32 of `size` zeros
  const finalBlock = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]); // stored, empty, last
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x78, 0xda]), ...Array<Buffer>(mebibytes).fill(block), finalBlock, adler]),
  );
}

/** A one-page PDF whose content stream is a Flate bomb: `mebibytes` MiB of NUL bytes (whitespace to a PDF lexer). */
export function flateBombPdf(mebibytes: number): Uint8Array {
  return pdfFile([
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
    { dict: "/Filter /FlateDecode", stream: zerosDeflated(mebibytes) },
  ]);
}

/** A DOCX whose body nests `depth` elements, each in the one before (deflated to a few hundred KiB). */
export function nestedDocx(depth: number): Uint8Array {
  const xml = `${XML_DECL}<w:document ${W}><w:body>${"<w:p>".repeat(depth)}${"</w:p>".repeat(depth)}</w:body></w:document>`;
  return docx([], { parts: { "word/document.xml": xml } });
}

/** The PNG signature and an IHDR chunk (1x1, RGBA): enough for file-type. */
export function png(): Uint8Array {
  return new Uint8Array([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89,
  ]);
}

/**
 * The 512-byte header of an OLE compound file ([MS-CFB] §2.2) and a directory sector; with
 * `encrypted`, the directory names an "EncryptedPackage" stream, as encrypted OOXML has.
 */
export function cfb(options: { encrypted: boolean }): Uint8Array {
  const bytes = new Uint8Array(1536);
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0);
  const view = new DataView(bytes.buffer);
  view.setUint16(0x18, 0x003e, true); // minor version
  view.setUint16(0x1a, 0x0003, true); // major version 3
  view.setUint16(0x1c, 0xfffe, true); // little-endian byte order mark
  view.setUint16(0x1e, 0x0009, true); // 512-byte sectors
  view.setUint16(0x20, 0x0006, true); // 64-byte mini sectors
  const directory = 512;
  const name = options.encrypted ? "EncryptedPackage" : "WordDocument";
  bytes.set(Buffer.from("Root Entry", "utf16le"), directory);
  bytes.set(Buffer.from(name, "utf16le"), directory + 128);
  return bytes;
}

/** A zip entry's central directory record (APPNOTE 4.3.12), to corrupt it on purpose. */
export function centralRecordOffset(zip: Uint8Array, name: string): number {
  const needle = Buffer.from(name);
  const bytes = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    if (bytes.readUInt32LE(at - 46) === 0x02014b50) return at - 46;
  }
  throw new Error(`no central record for ${name}`);
}

/** Appends the Luhn check digit to a string of digits. */
export function withLuhnDigit(payload: string): string {
  for (let digit = 0; digit <= 9; digit++) {
    const candidate = payload + String(digit);
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let value = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) value = value * 2 > 9 ? value * 2 - 9 : value * 2;
      sum += value;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}
