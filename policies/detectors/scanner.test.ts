import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  builtinDetectors,
  compileDetectors,
  customDetector,
  DetectorCompileError,
  ValidatorName,
  validators,
  type DetectorDefinition,
} from "./index.ts";
import { settle } from "./scanner.ts";

const builtins = Object.values(builtinDetectors);

function compileError(definitions: DetectorDefinition[]): DetectorCompileError {
  try {
    compileDetectors(definitions);
  } catch (error) {
    assert.ok(error instanceof DetectorCompileError, String(error));
    return error;
  }
  assert.fail("compileDetectors did not throw");
}

describe("customDetector", () => {
  it("fills in the defaults", () => {
    assert.deepEqual(customDetector({ type: "employee-id", pattern: "EMP-\\d{6}" }), {
      type: "employee-id",
      description: "Custom detector employee-id",
      pattern: "EMP-\\d{6}",
      validator: "none",
      keywords: [],
      keywordWindow: 48,
      confidence: 0.6,
      confidenceWithKeyword: 0.9,
      requireKeyword: false,
      ignoreCase: false,
    });
  });
  it("keeps what the spec gives, and copies the keyword list", () => {
    const keywords = ["project"];
    const definition = customDetector({
      type: "project-code",
      pattern: "PRJ\\d{4}",
      validator: ValidatorName.luhn,
      keywords,
      keywordWindow: 10,
      confidence: 0.5,
      confidenceWithKeyword: 0.8,
      requireKeyword: true,
      description: "Project codes",
    });
    keywords.push("changed");
    assert.deepEqual(definition.keywords, ["project"]);
    assert.equal(definition.validator, "luhn");
    assert.equal(definition.keywordWindow, 10);
    assert.equal(definition.requireKeyword, true);
    assert.equal(definition.description, "Project codes");
  });
});

describe("compileDetectors", () => {
  it("refuses an invalid pattern, naming the detector and the reason, with the SyntaxError as cause", () => {
    const error = compileError([customDetector({ type: "broken", pattern: "([a-z" })]);
    assert.equal(error.name, "DetectorCompileError");
    assert.equal(error.detectorType, "broken");
    assert.match(error.message, /^detector "broken": invalid pattern/);
    assert.ok(error.cause instanceof SyntaxError);
  });
  it("refuses an unknown validator", () => {
    const error = compileError([
      customDetector({ type: "crc", pattern: "x", validator: "crc32" as ValidatorName }),
    ]);
    assert.equal(error.detectorType, "crc");
    assert.match(error.reason, /unknown validator "crc32"/);
  });
  it("refuses duplicate types", () => {
    const error = compileError([...builtins, customDetector({ type: "email", pattern: "mail" })]);
    assert.equal(error.detectorType, "email");
    assert.match(error.reason, /duplicate/);
  });
  for (const pattern of ["a*", "(?:)", "\\b", "x?", "(?=a)", "(?<=a)", "a|", "[0-9]{0,3}", "$"]) {
    it(`refuses a pattern that can match the empty string: ${pattern}`, () => {
      const error = compileError([customDetector({ type: "empty", pattern })]);
      assert.match(error.reason, /empty string/);
    });
  }
  it("refuses out-of-range settings", () => {
    assert.match(
      compileError([customDetector({ type: "c", pattern: "x", confidence: 1.5 })]).reason,
      /confidence/,
    );
    assert.match(
      compileError([customDetector({ type: "c", pattern: "x", keywordWindow: -1 })]).reason,
      /keywordWindow/,
    );
    assert.match(
      compileError([customDetector({ type: "c", pattern: "x", requireKeyword: true })]).reason,
      /keywords/,
    );
    assert.match(compileError([customDetector({ type: "", pattern: "x" })]).reason, /type/);
    assert.match(compileError([customDetector({ type: "c", pattern: "" })]).reason, /empty/);
    const partial = {
      ...customDetector({ type: "c", pattern: "x" }),
      partialMatch: { group: "nope", confidence: 0.5 },
    };
    assert.match(compileError([partial]).reason, /no group named "nope"/);
    const prefilter = { ...customDetector({ type: "c", pattern: "x" }), prefilter: { pattern: "(" } };
    assert.match(compileError([prefilter]).reason, /invalid prefilter pattern/);
  });
  it("accepts the built-ins and an empty list", () => {
    assert.equal(compileDetectors(builtins).types.length, 14);
    assert.deepEqual(compileDetectors([]).scan("anything 4111111111111111"), []);
  });
});

describe("custom detectors", () => {
  it("report offsets, and confidence by keyword", () => {
    const set = compileDetectors([
      customDetector({ type: "employee-id", pattern: "EMP-\\d{6}", keywords: ["员工"] }),
    ]);
    const text = "员工编号EMP-123456，" + "。".repeat(50) + "EMP-654321";
    const second = text.indexOf("EMP-654321");
    assert.deepEqual(set.scan(text), [
      { type: "employee-id", start: 4, end: 14, confidence: 0.9 },
      { type: "employee-id", start: second, end: second + 10, confidence: 0.6 },
    ]);
  });
  it("use their validator", () => {
    const set = compileDetectors([
      customDetector({ type: "acct", pattern: "\\d{11}", validator: ValidatorName.luhn }),
    ]);
    assert.equal(set.scan("79927398713").length, 1);
    assert.equal(set.scan("79927398710").length, 0);
  });
  it("with requireKeyword report nothing without a keyword", () => {
    const set = compileDetectors([
      customDetector({ type: "case", pattern: "CASE-\\d{4}", keywords: ["legal"], requireKeyword: true }),
    ]);
    assert.deepEqual(set.scan("CASE-1234"), []);
    assert.equal(set.scan("legal CASE-1234")[0]?.confidence, 0.9);
  });
  it("report only the `value` group when the pattern has one", () => {
    const set = compileDetectors([customDetector({ type: "pin", pattern: "PIN:\\s*(?<value>\\d{4,6})" })]);
    assert.deepEqual(set.scan("your PIN: 123456."), [{ type: "pin", start: 10, end: 16, confidence: 0.6 }]);
  });
  it("honour ignoreCase", () => {
    const set = compileDetectors([
      customDetector({ type: "code", pattern: "secret-[a-z]{3}", ignoreCase: true }),
    ]);
    assert.equal(set.scan("SECRET-ABC").length, 1);
  });
});

describe("scan", () => {
  const set = compileDetectors(builtins);

  it("returns only type, offsets and confidence, never the matched text", () => {
    const [detection] = set.scan("card 4111111111111111");
    assert.ok(detection);
    assert.deepEqual(Object.keys(detection).sort(), ["confidence", "end", "start", "type"]);
    assert.ok(!JSON.stringify(set.scan("card 4111111111111111 password: hunter22")).includes("hunter22"));
  });

  it("counts offsets in UTF-16 code units", () => {
    const text = "😀😀卡号4111111111111111";
    assert.deepEqual(set.scan(text), [{ type: "payment-card", start: 6, end: 22, confidence: 0.99 }]);
  });

  it("never throws, even on input that is not a string", () => {
    assert.deepEqual(set.scan(undefined as unknown as string), []);
    assert.deepEqual(set.scan(42 as unknown as string), []);
    assert.deepEqual(set.scan(""), []);
    assert.deepEqual(set.scan("\uD800\uDC00\uD800"), []);
  });

  it("keeps at most 1,000 detections per detector", () => {
    const text = "card 4111111111111111 ".repeat(1500);
    const hits = set.scan(text);
    assert.equal(hits.length, 1000);
    assert.ok(hits.every((d) => d.type === "payment-card"));
  });

  it("fails closed: a detector that throws reports the whole text as its type", () => {
    const broken = compileDetectors([
      customDetector({ type: "acct", pattern: "ACCT\\d{4}" }),
      builtinDetectors.email,
    ]);
    const exec = RegExp.prototype.exec;
    // Only after compiling: make the custom detector's regex throw, as an engine error would.
    RegExp.prototype.exec = function (this: RegExp, input: string) {
      if (this.source === "ACCT\\d{4}") throw new RangeError("Maximum call stack size exceeded");
      return exec.call(this, input);
    };
    try {
      const text = "account ACCT1234, write to alice@example.com";
      assert.deepEqual(broken.scan(text), [
        { type: "acct", start: 0, end: text.length, confidence: 1 },
        { type: "email", start: 27, end: 44, confidence: 0.9 },
      ]);
    } finally {
      RegExp.prototype.exec = exec;
    }
  });

  it("uses validators nobody can replace", () => {
    assert.ok(Object.isFrozen(validators));
    assert.throws(() => {
      (validators as Record<string, unknown>)["luhn"] = () => true;
    }, TypeError);
  });

  it("finishes quickly on pathological input (linear patterns, bounded work)", () => {
    const size = 256 * 1024;
    const repeat = (unit: string): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const inputs = [
      repeat("1"),
      repeat("4111 "),
      repeat("4111-"),
      repeat("GB82 "),
      repeat("a."),
      repeat("a.a.a.a@"),
      repeat("-----BEGIN PRIVATE KEY-----"),
      repeat("-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAA"),
      repeat("password="),
      repeat("密码是"),
      repeat("+1 "),
      repeat("ab:"),
      repeat("1.1."),
      repeat("xoxb-123456-"),
      repeat("ghp_"),
      repeat("123-45-"),
      repeat("护照E1234567"),
    ];
    for (const text of inputs) {
      const started = performance.now();
      set.scan(text);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 3000, `${JSON.stringify(text.slice(0, 20))}: ${elapsed.toFixed(0)} ms`);
    }
  });
});

describe("settle", () => {
  const weak = new Set(["phone"]);
  it("merges overlapping detections of one type, keeping the higher confidence", () => {
    assert.deepEqual(
      settle(
        [
          { type: "a", start: 5, end: 10, confidence: 0.5 },
          { type: "a", start: 0, end: 6, confidence: 0.9 },
          { type: "a", start: 10, end: 12, confidence: 0.1 },
        ],
        weak,
      ),
      [
        { type: "a", start: 0, end: 10, confidence: 0.9 },
        { type: "a", start: 10, end: 12, confidence: 0.1 },
      ],
    );
  });
  it("drops weak detections overlapping a strong one, keeps the rest, sorted by start", () => {
    assert.deepEqual(
      settle(
        [
          { type: "phone", start: 30, end: 41, confidence: 0.6 },
          { type: "card", start: 0, end: 16, confidence: 0.9 },
          { type: "phone", start: 14, end: 20, confidence: 0.6 },
          { type: "phone", start: 16, end: 27, confidence: 0.6 },
          { type: "id", start: 2, end: 12, confidence: 0.9 },
        ],
        weak,
      ),
      [
        { type: "card", start: 0, end: 16, confidence: 0.9 },
        { type: "id", start: 2, end: 12, confidence: 0.9 },
        { type: "phone", start: 16, end: 27, confidence: 0.6 },
        { type: "phone", start: 30, end: 41, confidence: 0.6 },
      ],
    );
  });
});

describe("keyword matching", () => {
  const set = compileDetectors([
    customDetector({ type: "t", pattern: "T-\\d{4}", keywords: ["tel", "card", "卡号"], confidence: 0.5 }),
  ]);
  const confidence = (text: string): number | undefined => set.scan(text)[0]?.confidence;
  it("finds Latin keywords at the start of a word, in any case", () => {
    assert.equal(confidence("Tel: T-1234"), 0.9);
    assert.equal(confidence("CARDS T-1234"), 0.9);
    assert.equal(confidence("my card:T-1234"), 0.9);
  });
  it("does not find them inside other words; short ones only as whole words", () => {
    assert.equal(confidence("hotel T-1234"), 0.5);
    assert.equal(confidence("discard T-1234"), 0.5);
    assert.equal(confidence("telephone T-1234"), 0.5);
  });
  it("finds Chinese keywords anywhere, without spaces", () => {
    assert.equal(confidence("请核对卡号T-1234"), 0.9);
  });
});
