// File inspection: media types from the bytes, text out of every readable format, fail-closed
// results for everything else, budgets kept while streaming, and the default policy's detectors
// finding card and ID numbers in what was extracted.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { strToU8, zipSync } from "fflate";
import {
  defaultPolicyPath,
  loadPolicyFile,
  type EvaluationInput,
  type FileInput,
  type Policy,
} from "../../../policies/index.ts";
import { inspectFile, InspectionReason, type Inspection, type InspectionBudget } from "./index.ts";
import {
  centralRecordOffset,
  cfb,
  docx,
  docxWithDrawing,
  ooxmlPackage,
  pdf,
  png,
  pptx,
  withLuhnDigit,
  xlsx,
} from "./test-fixtures.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
/** Valid: Beijing Dongcheng, born 1949-12-31, MOD 11-2 check character X. */
const RESIDENT_ID = "11010519491231002X";
const CARD = "4111111111111111";

const budget: InspectionBudget = { maxBytes: 5 * 1024 * 1024, maxTextChars: 1_000_000, timeoutMs: 15_000 };

/** A source of `bytes` in chunks of `chunkSize`, counting what was pulled and whether it was closed. */
function source(bytes: Uint8Array, chunkSize = 64 * 1024) {
  const stats = { pulled: 0, closed: false };
  const open = () =>
    (async function* () {
      try {
        for (let at = 0; at < bytes.length; at += chunkSize) {
          const chunk = bytes.slice(at, at + chunkSize);
          stats.pulled += chunk.length;
          yield chunk;
        }
      } finally {
        stats.closed = true;
      }
    })();
  return { open, stats };
}

async function inspect(
  bytes: Uint8Array,
  name: string,
  overrides: Partial<InspectionBudget> = {},
): Promise<Inspection> {
  return inspectFile(source(bytes).open, { name, size: bytes.length }, { ...budget, ...overrides });
}

function assertInspected(inspection: Inspection, mediaType: string): string {
  assert.equal(inspection.reason, null, `unexpected reason: ${inspection.reason}`);
  assert.equal(inspection.inspectable, true);
  assert.equal(inspection.mediaType, mediaType);
  assert.equal(typeof inspection.text, "string");
  return inspection.text ?? "";
}

function assertUninspectable(inspection: Inspection, reason: string, mediaType?: string): void {
  assert.equal(inspection.reason, reason);
  assert.equal(inspection.inspectable, false);
  assert.equal(inspection.text, null);
  if (mediaType !== undefined) assert.equal(inspection.mediaType, mediaType);
}

describe("text files", () => {
  test("a CSV of 50 card numbers: text/csv, every number found by the default policy", async () => {
    const cards = Array.from({ length: 50 }, (_, i) =>
      withLuhnDigit(`411111111111${String(i).padStart(3, "0")}`),
    );
    const csv = `name,card\n${cards.map((card, i) => `holder ${i},${card}`).join("\n")}\n`;
    const text = assertInspected(await inspect(strToU8(csv), "cards.csv"), "text/csv");
    assert.equal(text, csv);
    const detections = await fileDetections([{ name: "cards.csv", text }]);
    assert.equal(detections[0]?.filter((type) => type === "payment-card").length, 50);
  });

  test("kinds by extension and content: JSON only when it parses, Markdown, logs, code", async () => {
    assertInspected(await inspect(strToU8('{"card": "x"}'), "a.json"), "application/json");
    assertInspected(await inspect(strToU8('{"card": '), "a.json"), "text/plain");
    assertInspected(await inspect(strToU8('[1, 2, {"a": null}]'), "noext"), "application/json");
    assertInspected(await inspect(strToU8("# Title\n"), "README.md"), "text/markdown");
    assertInspected(await inspect(strToU8("12:00 started\n"), "app.log"), "text/x-log");
    assertInspected(await inspect(strToU8("print(1)\n"), "a.py"), "text/x-python");
    assertInspected(await inspect(strToU8("just words\n"), "notes"), "text/plain");
  });

  test("text whose first bytes look like a signature is still text (BMW starts like a bitmap)", async () => {
    const text = assertInspected(await inspect(strToU8("BMW,1\nAudi,2\n"), "cars.csv"), "text/csv");
    assert.equal(text, "BMW,1\nAudi,2\n");
  });

  test("UTF-16 with a byte order mark, and GB 18030 from Chinese Windows", async () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...Buffer.from(`ID ${RESIDENT_ID}`, "utf16le")]);
    assert.equal(assertInspected(await inspect(utf16, "u.txt"), "text/plain"), `ID ${RESIDENT_ID}`);
    // 身份证 (resident ID) in GB 18030, then ASCII.
    const gb = new Uint8Array([0xc9, 0xed, 0xb7, 0xdd, 0xd6, 0xa4, ...Buffer.from(` ${RESIDENT_ID}`)]);
    const text = assertInspected(await inspect(gb, "ids.txt"), "text/plain");
    assert.equal(text, `身份证 ${RESIDENT_ID}`);
    assert.deepEqual((await fileDetections([{ name: "ids.txt", text }]))[0], ["cn-resident-id"]);
  });

  test("an empty file is empty text", async () => {
    assert.equal(assertInspected(await inspect(new Uint8Array(0), "empty.txt"), "text/plain"), "");
  });

  test("text that turns into invalid bytes after a clean head is not read", async () => {
    const bytes = new Uint8Array([...strToU8("a".repeat(20_000)), 0xff, 0xfe, 0xfd]);
    assertUninspectable(await inspect(bytes, "a.txt"), InspectionReason.encoding, "text/plain");
  });

  test("binary data that nothing recognises", async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    assertUninspectable(await inspect(bytes, "x.txt"), InspectionReason.binary, "application/octet-stream");
  });
});

describe("Office documents", () => {
  test("DOCX: body, header, footer and footnotes, runs of one number joined back", async () => {
    const file = docx([["Card ", "4111 1111", " 1111 1111"], [`ID ${RESIDENT_ID}`]], {
      header: "Header: confidential",
      footer: "Footer 5500000000000004",
      footnote: "Footnote text",
    });
    const text = assertInspected(await inspect(file, "claim.docx"), DOCX);
    for (const piece of [
      "Card 4111 1111 1111 1111",
      `ID ${RESIDENT_ID}`,
      "Header: confidential",
      "Footer 5500000000000004",
      "Footnote text",
    ]) {
      assert.ok(text.includes(piece), `${JSON.stringify(piece)} missing from ${JSON.stringify(text)}`);
    }
    assert.ok(text.indexOf("Card") < text.indexOf("Header"), "the main part comes first");
  });

  test("DOCX recognised from [Content_Types].xml wherever it sits in the zip", async () => {
    const file = docx([["hello"]], {}, { contentTypesLast: true });
    assert.equal(assertInspected(await inspect(file, "renamed.zip"), DOCX), "hello\n");
  });

  test("XLSX: shared and inline strings, numbers as digits, neighbouring cells kept apart", async () => {
    const file = xlsx(
      [
        ["name", "card", "id"],
        ["Zhang San", Number(CARD), { inline: RESIDENT_ID }],
        [123, 456, { raw: "4.111111111111111E+15" }],
      ],
      { unusedStrings: ["left over 5500000000000004"] },
    );
    const text = assertInspected(await inspect(file, "book.xlsx"), XLSX);
    const lines = text.split("\n");
    assert.deepEqual(lines.slice(0, 3), [
      "name\tcard\tid\t",
      `Zhang San\t${CARD}\t${RESIDENT_ID}\t`,
      `123\t456\t${CARD}\t`,
    ]);
    assert.ok(text.includes("left over 5500000000000004"), "strings no cell shows are scanned too");
    const [types] = await fileDetections([{ name: "book.xlsx", text }]);
    assert.ok(types?.includes("payment-card") && types.includes("cn-resident-id"), String(types));
  });

  test("PPTX: slide texts in slide order (slide2 before slide10)", async () => {
    const text = assertInspected(
      await inspect(pptx({ 10: "tenth", 2: `second ${CARD}`, 1: "first" }), "deck.pptx"),
      PPTX,
    );
    assert.deepEqual(text.split("\n").filter(Boolean), ["first", `second ${CARD}`, "tenth"]);
  });

  test("an Office package inside a document is read too; an OLE object is not", async () => {
    const sheet = xlsx([[Number(CARD)]]);
    const withWorkbook = docx([["see the chart"]], {
      parts: { "word/embeddings/Microsoft_Excel_Worksheet.xlsx": sheet },
    });
    const text = assertInspected(await inspect(withWorkbook, "report.docx"), DOCX);
    assert.ok(text.includes("see the chart") && text.includes(CARD), text);

    const withOle = docx(
      [["x"]],
      { parts: { "word/embeddings/oleObject1.bin": new Uint8Array([1, 2, 3]) } },
      { defaults: { bin: "application/vnd.openxmlformats-officedocument.oleObject" } },
    );
    assertUninspectable(await inspect(withOle, "ole.docx"), InspectionReason.embedded, DOCX);
  });

  test("a picture inside a DOCX, PPTX or XLSX makes it uninspectable (its text cannot be read)", async () => {
    const picture = { parts: { "word/media/image1.png": png() }, defaults: { png: "image/png" } };
    const withPicture = docxWithDrawing(`Card ${CARD}`, { kind: "picture" }, picture);
    assertUninspectable(await inspect(withPicture, "scan.docx"), InspectionReason.pictures, DOCX);
    // A picture part no drawing refers to, and one under any name the content types make an image.
    const unreferenced = docx([["caption"]], picture, { defaults: picture.defaults });
    assertUninspectable(await inspect(unreferenced, "p.docx"), InspectionReason.pictures, DOCX);
    const svg = docx([["caption"]], {
      parts: {
        "word/media/image1.svg": `<svg xmlns="http://www.w3.org/2000/svg"><text>${CARD}</text></svg>`,
      },
    });
    assertUninspectable(await inspect(svg, "svg.docx"), InspectionReason.pictures, DOCX);
    const slides = pptx(
      { 1: "title" },
      { parts: { "ppt/media/image1.jpeg": new Uint8Array([0xff, 0xd8, 0xff, 0xe0]) } },
    );
    assertUninspectable(await inspect(slides, "deck.pptx"), InspectionReason.pictures, PPTX);
    const book = xlsx([["name"]], { parts: { "xl/media/image1.emf": new Uint8Array([1, 0, 0, 0]) } });
    assertUninspectable(await inspect(book, "book.xlsx"), InspectionReason.pictures, XLSX);
    // A linked picture has no part in the package; the drawing that shows it is enough.
    const linked = docxWithDrawing("caption", { kind: "linkedPicture" });
    assertUninspectable(await inspect(linked, "linked.docx"), InspectionReason.pictures, DOCX);
  });

  test("the alternative text of a drawing without a picture (a chart) is read", async () => {
    const chart = docxWithDrawing("caption", { kind: "chart", altText: `Card ${CARD}` });
    const text = assertInspected(await inspect(chart, "chart.docx"), DOCX);
    assert.ok(text.includes(`Card ${CARD}`) && text.includes("caption"), JSON.stringify(text));
  });

  test("a truncated DOCX is corrupt", async () => {
    const file = docx([[`ID ${RESIDENT_ID}`]]);
    assertUninspectable(
      await inspect(file.subarray(0, Math.floor(file.length / 2)), "cut.docx"),
      InspectionReason.corrupt,
    );
  });

  test("an entry larger than its directory record claims is corrupt (a lie or a bomb)", async () => {
    const file = docx([["some text that is long enough"]]);
    const record = centralRecordOffset(file, "word/document.xml");
    const view = new DataView(file.buffer, file.byteOffset);
    view.setUint32(record + 24, view.getUint32(record + 24, true) - 5, true);
    assertUninspectable(await inspect(file, "lying.docx"), InspectionReason.corrupt, DOCX);
  });

  test("zip bomb guards: decompressed bytes (4 x maxBytes) and the number of entries", async () => {
    const bomb = docx([[" ".repeat(2_000_000)]]);
    assert.ok(bomb.length < 20_000, `compressed to ${bomb.length} bytes`);
    assertUninspectable(
      await inspect(bomb, "bomb.docx", { maxBytes: 100_000 }),
      InspectionReason.expandsTooMuch,
      DOCX,
    );

    const crowd: Record<string, string> = {};
    for (let i = 0; i <= 10_000; i++) crowd[`word/media/${i}.png`] = "";
    assertUninspectable(
      await inspect(docx([["x"]], { parts: crowd }), "crowd.docx"),
      InspectionReason.expandsTooMuch,
    );
  });

  test("an encrypted zip entry, and a document type declaration, are refused", async () => {
    const file = docx([["x"]]);
    const record = centralRecordOffset(file, "word/document.xml");
    file[record + 8] = (file[record + 8] ?? 0) | 1; // general purpose flag bit 0: encrypted
    assertUninspectable(await inspect(file, "enc.docx"), InspectionReason.encrypted);

    const laughs =
      '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' +
      '<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>';
    const withDoctype = ooxmlPackage(
      { "word/document.xml": laughs },
      { "word/document.xml": `${DOCX}.main+xml` },
    );
    assertUninspectable(await inspect(withDoctype, "dtd.docx"), InspectionReason.corrupt, DOCX);
  });

  test("encrypted Office (an OLE container with EncryptedPackage) and legacy Office", async () => {
    assertUninspectable(
      await inspect(cfb({ encrypted: true }), "secret.docx"),
      InspectionReason.encryptedOffice,
      "application/x-cfb",
    );
    assertUninspectable(
      await inspect(cfb({ encrypted: false }), "old.doc"),
      InspectionReason.oleContainer,
      "application/x-cfb",
    );
  });
});

describe("PDF", () => {
  test("text of a hand-built PDF, found by the default policy's detectors", async () => {
    const file = pdf([`ID ${RESIDENT_ID}`, `Card ${CARD}`]);
    const text = assertInspected(await inspect(file, "scan.pdf"), "application/pdf");
    assert.ok(text.includes(`ID ${RESIDENT_ID}`) && text.includes(`Card ${CARD}`), text);
  });

  test("Chinese text through a predefined CMap; a CMap that cannot be loaded fails closed", async () => {
    const chinese = pdf([`身份证号 ${RESIDENT_ID}`], { cmap: "UniGB-UCS2-H" });
    const text = assertInspected(await inspect(chinese, "zh.pdf"), "application/pdf");
    assert.ok(text.includes(`身份证号 ${RESIDENT_ID}`), JSON.stringify(text));
    // pdf.js would draw nothing for this font and only warn: the text would be missing.
    const missing = pdf([`身份证号 ${RESIDENT_ID}`], { cmap: "UniGB-Missing-H" });
    assertUninspectable(await inspect(missing, "zh.pdf"), InspectionReason.unreadableFont, "application/pdf");
  });

  test("an encrypted PDF, a corrupt PDF, and a PDF whose text is over budget", async () => {
    assertUninspectable(
      await inspect(pdf(["secret"], { encrypted: true }), "e.pdf"),
      InspectionReason.encryptedPdf,
      "application/pdf",
    );
    assertUninspectable(
      await inspect(strToU8("%PDF-1.4\n1 0 obj\n<< /Type"), "c.pdf"),
      InspectionReason.corrupt,
      "application/pdf",
    );
    const long = pdf(["x".repeat(60), "y".repeat(60)]);
    assertUninspectable(
      await inspect(long, "l.pdf", { maxTextChars: 100 }),
      InspectionReason.textTooLong,
      "application/pdf",
    );
  });

  test("a picture drawn on a page (image XObject, inline image, image mask) makes a PDF uninspectable", async () => {
    for (const picture of ["xobject", "inline", "mask"] as const) {
      assertUninspectable(
        await inspect(pdf([`Card ${CARD}`], { picture }), `${picture}.pdf`),
        InspectionReason.pictures,
        "application/pdf",
      );
    }
  });

  test("a page without text that draws something (a scan, outlined letters) is unread; a blank page is fine", async () => {
    assertUninspectable(
      await inspect(pdf(["page one"], { secondPage: "drawing" }), "drawn.pdf"),
      InspectionReason.pictures,
      "application/pdf",
    );
    const blank = assertInspected(
      await inspect(pdf(["page one"], { secondPage: "blank" }), "blank.pdf"),
      "application/pdf",
    );
    assert.equal(blank.trim(), "page one");
  });

  test("a file attached to a page (a FileAttachment annotation) is an embedded file", async () => {
    const attached = pdf(["see the attachment"], {
      annotations: [
        "<< /Type /Annot /Subtype /FileAttachment /Rect [72 600 90 620] /Contents (cards) " +
          "/FS << /Type /Filespec /F (cards.txt) /EF << /F EMBEDDED >> >> >>",
      ],
    });
    assertUninspectable(await inspect(attached, "a.pdf"), InspectionReason.embedded, "application/pdf");
  });

  test("PDF extraction is stopped at the deadline (the child process is killed)", async () => {
    const started = performance.now();
    // Long enough to read and sniff the file, shorter than starting the worker and pdf.js.
    const inspection = await inspect(pdf(["slow"]), "slow.pdf", { timeoutMs: 100 });
    assertUninspectable(inspection, InspectionReason.timeout, "application/pdf");
    assert.ok(performance.now() - started < 2_000);
  });
});

describe("what a file's bytes and name claim", () => {
  test("a PDF behind leading junk is a PDF (readers look for %PDF- in the first KiB)", async () => {
    const file = pdf([`Card ${CARD}`], { prefix: "Content-Type: application/pdf\r\n\r\n" });
    const text = assertInspected(await inspect(file, "junk.pdf"), "application/pdf");
    assert.ok(text.includes(`Card ${CARD}`), text);
  });

  test("a polyglot is refused: a PDF header inside a zip, a zip directory after a PDF", async () => {
    const zipWithPdf = zipSync({ "a.pdf": [pdf(["inner"]), { level: 0 }] });
    assertUninspectable(await inspect(zipWithPdf, "a.zip"), InspectionReason.ambiguous, "application/zip");
    const pdfThenZip = new Uint8Array([...pdf([`Card ${CARD}`]), ...zipSync({ "cards.csv": strToU8(CARD) })]);
    assertUninspectable(await inspect(pdfThenZip, "b.pdf"), InspectionReason.ambiguous, "application/pdf");
  });

  test("a name of a binary format on bytes of another kind does not match", async () => {
    // A reader of the named format may still find content in them (a PDF reader rebuilds objects from text).
    const pdfObjects = strToU8(
      "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n",
    );
    for (const name of ["scan.pdf", "report.docx", "photo.png", "cards.zip"]) {
      assertUninspectable(await inspect(pdfObjects, name), InspectionReason.nameMismatch, "text/plain");
    }
    assertUninspectable(await inspect(docx([["x"]]), "x.pdf"), InspectionReason.nameMismatch, DOCX);
    assertInspected(await inspect(pdfObjects, "objects.txt"), "text/plain");
  });

  test("text holding encoded content: a base64 MIME part, a long data: URI (a short one, an icon, is fine)", async () => {
    const payload = Buffer.from(`Card ${CARD} `.repeat(20)).toString("base64");
    const mail =
      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      `${payload}\r\n--b--\r\n`;
    assertUninspectable(
      await inspect(strToU8(mail), "saved.eml"),
      InspectionReason.encodedContent,
      "text/plain",
    );
    const page = `<p>hello</p><img src="data:image/png;base64,${payload}">`;
    assertUninspectable(
      await inspect(strToU8(page), "page.html"),
      InspectionReason.encodedContent,
      "text/html",
    );
    const markdown = `![x](data:text/plain;charset=utf-8;base64,\n${payload.slice(0, 76)}\n${payload.slice(76)})`;
    assertUninspectable(
      await inspect(strToU8(markdown), "n.md"),
      InspectionReason.encodedContent,
      "text/markdown",
    );
    const icon = '<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">';
    assertInspected(await inspect(strToU8(icon), "icon.html"), "text/html");
  });
});

describe("formats that are never read", () => {
  test("an image, an archive, and other recognised binaries", async () => {
    assertUninspectable(await inspect(png(), "photo.txt"), InspectionReason.image, "image/png");
    const archive = zipSync({ "cards.csv": strToU8(CARD) });
    assertUninspectable(await inspect(archive, "cards.docx"), InspectionReason.archive, "application/zip");
    const gzip = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03, 1, 2, 3, 4]);
    assertUninspectable(await inspect(gzip, "x.gz"), InspectionReason.archive, "application/gzip");
  });
});

describe("budgets", () => {
  test("over maxBytes: never more than maxBytes (and one chunk) pulled, the source closed", async () => {
    const bytes = strToU8("a".repeat(50_000));
    const { open, stats } = source(bytes, 1000);
    // The stored size may be wrong: the bytes read decide.
    const inspection = await inspectFile(
      open,
      { name: "big.txt", size: 10 },
      { ...budget, maxBytes: 10_000 },
    );
    assertUninspectable(inspection, InspectionReason.tooLarge, "text/plain");
    assert.ok(stats.pulled <= 11_000, `pulled ${stats.pulled} bytes`);
    assert.equal(stats.closed, true);
  });

  test("a stored size over maxBytes: only the head is read, for the media type", async () => {
    const file = png();
    const bytes = new Uint8Array(1_000_000);
    bytes.set(file);
    const { open, stats } = source(bytes, 4096);
    const inspection = await inspectFile(
      open,
      { name: "big.png", size: bytes.length },
      { ...budget, maxBytes: 500_000 },
    );
    assertUninspectable(inspection, InspectionReason.tooLarge, "image/png");
    assert.ok(stats.pulled <= 64 * 1024 + 4096, `pulled ${stats.pulled} bytes`);
  });

  test("a file of a kind never read is read no further than its head", async () => {
    const bytes = new Uint8Array(2_000_000);
    bytes.set(png());
    const { open, stats } = source(bytes, 4096);
    const inspection = await inspectFile(open, { name: "photo.png", size: bytes.length }, budget);
    assertUninspectable(inspection, InspectionReason.image, "image/png");
    assert.ok(stats.pulled <= 64 * 1024 + 4096, `pulled ${stats.pulled} bytes`);
    assert.equal(stats.closed, true);
  });

  test("text over maxTextChars", async () => {
    assertUninspectable(
      await inspect(strToU8("x".repeat(2_000)), "a.txt", { maxTextChars: 1_000 }),
      InspectionReason.textTooLong,
      "text/plain",
    );
    const longSheet = xlsx(Array.from({ length: 200 }, (_, i) => [`row ${i}`, i]));
    assertUninspectable(
      await inspect(longSheet, "s.xlsx", { maxTextChars: 500 }),
      InspectionReason.textTooLong,
      XLSX,
    );
  });

  test("a slow source is cut at timeoutMs", async () => {
    const open = () =>
      (async function* () {
        for (;;) {
          await sleep(20);
          yield strToU8("more text ");
        }
      })();
    const started = performance.now();
    const inspection = await inspectFile(
      open,
      { name: "slow.txt", size: 100 },
      { ...budget, timeoutMs: 150 },
    );
    assertUninspectable(inspection, InspectionReason.timeout);
    assert.ok(performance.now() - started < 1_000);
  });

  test("a source that never answers, and the caller's abort", async () => {
    const stuck = () => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
    });
    assertUninspectable(
      await inspectFile(stuck, { name: "a", size: 1 }, { ...budget, timeoutMs: 50 }),
      InspectionReason.timeout,
    );
    const controller = new AbortController();
    const pending = inspectFile(stuck, { name: "a", size: 1 }, budget, controller.signal);
    controller.abort();
    assertUninspectable(await pending, InspectionReason.aborted);
    assertUninspectable(
      await inspectFile(source(strToU8("x")).open, { name: "a", size: 1 }, budget, AbortSignal.abort()),
      InspectionReason.aborted,
    );
  });
});

describe("never throws", () => {
  test("a source that fails, bad chunks, a bad budget", async () => {
    const throwing = () => {
      throw new Error("store is down: secret-token-123");
    };
    const inspection = await inspectFile(throwing, { name: "a", size: 1 }, budget);
    assertUninspectable(inspection, InspectionReason.readFailed);
    assert.ok(!JSON.stringify(inspection).includes("secret"), "no error text in the result");

    const failing = () =>
      (async function* () {
        yield strToU8("start");
        throw new Error("connection reset");
      })();
    assertUninspectable(
      await inspectFile(failing, { name: "a", size: 1 }, budget),
      InspectionReason.readFailed,
    );
    const strings = () =>
      (async function* () {
        yield "not bytes" as unknown as Uint8Array;
      })();
    assertUninspectable(
      await inspectFile(strings, { name: "a", size: 1 }, budget),
      InspectionReason.readFailed,
    );
    for (const bad of [
      { ...budget, maxBytes: -1 },
      { ...budget, timeoutMs: Number.NaN },
      { ...budget, maxTextChars: 0 },
    ]) {
      assertUninspectable(
        await inspectFile(source(strToU8("x")).open, { name: "a", size: 1 }, bad),
        InspectionReason.invalidBudget,
      );
    }
  });

  test("property: random bytes, alone or behind a known signature, never throw nor exceed the budgets", async () => {
    const signatures = [
      [],
      [0x50, 0x4b, 0x03, 0x04],
      [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
      [0xef, 0xbb, 0xbf],
      [0xff, 0xfe],
      [0x1f, 0x8b, 0x08],
    ].map((bytes) => new Uint8Array(bytes));
    const valid = [docx([[`ID ${RESIDENT_ID}`]]), xlsx([[Number(CARD), "x"]]), pptx({ 1: "a" })];
    const smallBudget = { maxBytes: 4_096, maxTextChars: 2_000, timeoutMs: 2_000 };
    const input = fc.oneof(
      fc
        .tuple(fc.constantFrom(...signatures), fc.uint8Array({ maxLength: 6_000 }))
        .map(([head, rest]) => new Uint8Array([...head, ...rest])),
      // A valid package with bytes overwritten: exercises the zip and XML readers past their checks.
      fc
        .tuple(
          fc.constantFrom(...valid),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        )
        .map(([file, edits]) => {
          const copy = file.slice();
          for (const [at, value] of edits) copy[at % copy.length] = value;
          return copy;
        }),
    );
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 5_000 }), async (bytes, chunkSize) => {
        const { open, stats } = source(bytes, chunkSize);
        const started = performance.now();
        const inspection = await inspectFile(
          open,
          { name: "f.bin", size: bytes.length },
          { ...smallBudget, maxBytes: 8 * 4_096 },
        );
        assert.equal(typeof inspection.mediaType, "string");
        assert.equal(inspection.inspectable, inspection.text !== null);
        assert.equal(inspection.inspectable, inspection.reason === null);
        if (inspection.text !== null) assert.ok(inspection.text.length <= smallBudget.maxTextChars);
        assert.ok(stats.pulled <= 8 * 4_096 + chunkSize, `pulled ${stats.pulled}`);
        assert.ok(performance.now() - started < smallBudget.timeoutMs + 1_000);
      }),
      { numRuns: 150 },
    );
  });

  test("property: damaged PDFs never throw and end within the time budget", async () => {
    const valid = pdf([`ID ${RESIDENT_ID}`, `Card ${CARD}`]);
    const damaged = fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
      .map((edits) => {
        const copy = valid.slice();
        for (const [at, value] of edits) copy[at % copy.length] = value;
        return copy;
      });
    await fc.assert(
      fc.asyncProperty(damaged, async (bytes) => {
        const started = performance.now();
        const inspection = await inspect(bytes, "d.pdf", { timeoutMs: 3_000 });
        assert.equal(inspection.inspectable, inspection.text !== null);
        assert.ok(performance.now() - started < 4_000);
      }),
      { numRuns: 12 },
    );
  });
});

describe("end to end with the default policy", () => {
  test("card and resident ID numbers in a DOCX, an XLSX, a PPTX and a PDF make the message sensitive", async () => {
    const files = [
      { name: "a.docx", bytes: docx([[`身份证号 ${RESIDENT_ID}`], [`Card ${CARD}`]]) },
      {
        name: "b.xlsx",
        bytes: xlsx([
          ["id", "card"],
          [RESIDENT_ID, Number(CARD)],
        ]),
      },
      { name: "c.pptx", bytes: pptx({ 1: `ID ${RESIDENT_ID} card ${CARD}` }) },
      { name: "d.pdf", bytes: pdf([`ID ${RESIDENT_ID}`, `Card ${CARD}`]) },
    ];
    const inspected = await Promise.all(
      files.map(async ({ name, bytes }) => ({ name, text: (await inspect(bytes, name)).text })),
    );
    const policy = await defaultPolicy();
    const verdict = evaluate(policy, inspected);
    assert.equal(verdict.sensitive, true);
    assert.deepEqual(verdict.rules, ["sensitive-file-detections"]);
    for (const [index, file] of (verdict.fileDetections ?? []).entries()) {
      const types = new Set(file.detections.map((detection) => detection.type));
      assert.ok(
        types.has("payment-card") && types.has("cn-resident-id"),
        `${files[index]?.name}: ${[...types]}`,
      );
    }
    assert.equal(verdict.fileDetections?.length, 4);
  });
});

let policyLoaded: Promise<Policy> | undefined;
const defaultPolicy = () => (policyLoaded ??= loadPolicyFile(defaultPolicyPath));

function evaluate(policy: Policy, files: { name: string; text: string | null }[]) {
  const input: EvaluationInput = {
    conversation: {
      id: "c-1",
      title: "general",
      labels: [],
      members: [{ id: "alice" }],
      externalParticipants: false,
      bindings: [],
      sensitive: false,
    },
    message: {
      id: "m-1",
      sender: { id: "alice" },
      text: "see attached",
      files: files.map(({ name, text }, i): FileInput => ({
        id: `f-${i}`,
        name,
        mediaType: "application/octet-stream",
        size: 1,
        text,
      })),
    },
  };
  const result = policy.evaluate(input);
  assert.equal(result.ok, true, JSON.stringify(result));
  if (!result.ok) throw new Error("unreachable");
  return result.verdict;
}

/** The detection types the default policy finds in each file's text. */
async function fileDetections(files: { name: string; text: string | null }[]): Promise<string[][]> {
  const verdict = evaluate(await defaultPolicy(), files);
  return (verdict.fileDetections ?? []).map((file) => file.detections.map((detection) => detection.type));
}
