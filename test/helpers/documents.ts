// Small real documents made in the tests, so no binary fixture is committed: a DOCX (OOXML zip), a
// one-page PDF with a text object, a 1x1 PNG, and CSVs of card numbers.
import { strToU8, zipSync } from "fflate";

const xmlEscape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** A Word document with one paragraph per line. */
export function makeDocx(lines: readonly string[]): Buffer {
  const w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
  const paragraphs = lines.map(
    (line) => `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(line)}</w:t></w:r></w:p>`,
  );
  return Buffer.from(
    zipSync({
      "[Content_Types].xml": strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
          `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
          `<Default Extension="xml" ContentType="application/xml"/>` +
          `<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
      ),
      "_rels/.rels": strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
          `<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
      ),
      "word/document.xml": strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${w}"><w:body>${paragraphs.join("")}</w:body></w:document>`,
      ),
    }),
  );
}

/** A one-page PDF showing each line in Helvetica (ASCII text only). */
export function makePdf(lines: readonly string[]): Buffer {
  const escape = (text: string) =>
    text.replaceAll("\\", "\\\\").replaceAll("(", "\\(").replaceAll(")", "\\)");
  const content = `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((l) => `(${escape(l)}) '`).join(" ")} ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(Buffer.byteLength(pdf));
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf);
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, "0")} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, "latin1");
}

/** A valid 1x1 PNG. */
export function makePng(): Buffer {
  return Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "base64",
  );
}

/** Luhn check digit for the digits given. */
function luhnDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d *= 2;
    if (d > 9) d -= 9;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * A customer export with `count` Visa-like card numbers: valid ones pass the Luhn check; with
 * `valid: false` each has its check digit off by one, so none is a card number.
 */
export function makeCardCsv(count: number, valid: boolean): Buffer {
  const rows = ["customer,card,expires"];
  for (let i = 0; i < count; i++) {
    const body = `4${String(100_000_000_000_00 + i * 7919).padStart(14, "0")}`;
    const check = (luhnDigit(body) + (valid ? 0 : 1)) % 10;
    const card = `${body}${check}`;
    rows.push(`customer-${i},${card.replace(/(\d{4})(?=\d)/g, "$1 ")},12/2${i % 10}`);
  }
  return Buffer.from(`${rows.join("\n")}\n`);
}

/** A valid Chinese resident ID number (GB 11643 check character). */
export const residentId = "11010519491231002X";
