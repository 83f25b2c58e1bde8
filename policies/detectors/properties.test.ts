import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { builtinDetectors, compileDetectors, type Detection } from "./index.ts";
import { ibanNumber, residentId, singleDigitChanges, writtenCardNumber } from "./test-support.ts";
import { cnResidentId, iban, paymentCard } from "./validators.ts";

const detectors = compileDetectors(Object.values(builtinDetectors));

const separator = fc.constantFrom(" ", "中", "，", "\n", "：");
const filler = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(..."的是在了我你他这们abc XYZ.,!?"), maxLength: 60 }),
);

/** A valid value of `type` embedded between random texts, each side split off by a separator. */
function isAlwaysFound(type: string, value: fc.Arbitrary<string>): void {
  fc.assert(
    fc.property(filler, separator, value, separator, filler, (before, left, v, right, after) => {
      const text = before + left + v + right + after;
      const start = before.length + left.length;
      const hits = detectors.scan(text).filter((d) => d.type === type);
      assert.ok(
        hits.some((d) => d.start === start && d.end === start + v.length),
        `${type} ${JSON.stringify(v)} not found at ${start} in ${JSON.stringify(text)}: ${JSON.stringify(hits)}`,
      );
    }),
    { numRuns: 300 },
  );
}

describe("valid values embedded anywhere are found with exact offsets", () => {
  it("payment cards (Luhn-valid, known issuer, unbroken or grouped)", () => {
    isAlwaysFound("payment-card", writtenCardNumber);
  });
  it("resident IDs (real region code and date, computed check character)", () => {
    isAlwaysFound("cn-resident-id", residentId);
  });
  it("IBANs (random BBAN, computed check digits, compact or grouped)", () => {
    isAlwaysFound("iban", ibanNumber);
  });
});

function assertWellFormed(text: string, detections: Detection[]): void {
  let previousStart = 0;
  const lastEndByType = new Map<string, number>();
  for (const d of detections) {
    assert.ok(Number.isInteger(d.start) && Number.isInteger(d.end), "integer offsets");
    assert.ok(d.start >= 0 && d.start < d.end && d.end <= text.length, `in range: ${JSON.stringify(d)}`);
    assert.ok(d.start >= previousStart, "sorted by start");
    assert.ok(d.confidence >= 0 && d.confidence <= 1, "confidence in 0..1");
    assert.ok(detectors.types.includes(d.type), "a known type");
    assert.ok((lastEndByType.get(d.type) ?? 0) <= d.start, "no overlapping detections of one type");
    lastEndByType.set(d.type, d.end);
    previousStart = d.start;
  }
}

describe("scan on arbitrary text", () => {
  const alphabet = fc.constantFrom(
    ..."0123456789 -+.:@_=：\n4111ABGZXakiasghpxoxbsk_live密码是护照卡号身份证passwordEND-----BEGIN PRIVATE KEY".split(
      "",
    ),
    "-----BEGIN PRIVATE KEY-----",
    "password: ",
    "ghp_",
    "AKIA",
    "4111 ",
    "GB82 ",
    "😀",
    "\uD800",
  );
  const texts = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: alphabet, maxLength: 300 }),
    fc.string({ unit: "binary", minLength: 2000, maxLength: 20_000 }),
    fc.string({ unit: alphabet, minLength: 2000, maxLength: 8000 }),
  );
  it("never throws and returns sorted, in-range offsets", () => {
    fc.assert(
      fc.property(texts, (text) => {
        assertWellFormed(text, detectors.scan(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe("validators reject any single-digit change", () => {
  it("of a valid card number", () => {
    fc.assert(
      fc.property(writtenCardNumber, (card) => {
        assert.ok(paymentCard(card), card);
        for (const changed of singleDigitChanges(card)) assert.equal(paymentCard(changed), false, changed);
      }),
    );
  });
  it("of a valid resident ID", () => {
    fc.assert(
      fc.property(residentId, (id) => {
        assert.ok(cnResidentId(id), id);
        for (const changed of singleDigitChanges(id)) assert.equal(cnResidentId(changed), false, changed);
      }),
    );
  });
  it("of a valid IBAN", () => {
    fc.assert(
      fc.property(ibanNumber, (number) => {
        assert.ok(iban(number), number);
        for (const changed of singleDigitChanges(number)) assert.equal(iban(changed), false, changed);
      }),
    );
  });
});
