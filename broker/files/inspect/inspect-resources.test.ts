// What inspecting a hostile or large file costs the broker's process: resident memory, event-loop
// stalls, and how many inspections and PDF children run at once. Apart from inspect.test.ts, so
// other tests' garbage does not blur the measurements (node:test runs each file in its own process).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { strToU8 } from "fflate";
import { inspectFile, InspectionReason, type Inspection, type InspectionBudget } from "./index.ts";
import { docx, flateBombPdf, nestedDocx, pdf } from "./test-fixtures.ts";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const MB = 1_000_000;
const MIB = 1024 * 1024;
/** The broker's defaults (docs/configuration.md): 50 MiB, 5,000,000 characters, 10 s. */
const defaults: InspectionBudget = { maxBytes: 50 * MIB, maxTextChars: 5_000_000, timeoutMs: 10_000 };

/** A source yielding fresh 64 KiB chunks, as a store's stream does; counts the sources open at once. */
function source(bytes: Uint8Array, open = { now: 0, most: 0 }) {
  return () =>
    (async function* () {
      open.most = Math.max(open.most, ++open.now);
      try {
        for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.slice(at, at + 64 * 1024);
      } finally {
        open.now--;
      }
    })();
}

interface Cost {
  inspection: Inspection;
  /** Peak resident memory above the start, in bytes. */
  rssGrowth: number;
  /** Longest gap between two 5 ms ticks, in milliseconds. */
  longestStall: number;
  tookMs: number;
}

/** Runs `work`, sampling the process's resident memory and the event loop every 5 ms. */
async function measure(work: () => Promise<Inspection>): Promise<Cost> {
  collectGarbage();
  const base = process.memoryUsage.rss();
  let peak = base;
  let last = performance.now();
  let longestStall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestStall = Math.max(longestStall, now - last);
    last = now;
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const started = performance.now();
  try {
    const inspection = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { inspection, rssGrowth: peak - base, longestStall, tookMs: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

const figures = (cost: Cost) =>
  `+${Math.round(cost.rssGrowth / MB)} MB, stall ${Math.round(cost.longestStall)} ms, ${Math.round(cost.tookMs)} ms`;

describe("memory and event loop", () => {
  // First: a test before it would leave freed memory in the process that this one could reuse unseen.
  test("a 49 MiB text file adds well under 100 MB (streamed, never held whole)", async (t) => {
    const line = `${"a".repeat(79)}\n`;
    const text = strToU8(line.repeat((49 * MIB) / line.length));
    const cost = await measure(() =>
      inspectFile(source(text), { name: "big.txt", size: text.length }, defaults),
    );
    t.diagnostic(figures(cost));
    assert.equal(cost.inspection.reason, InspectionReason.textTooLong); // 49 million characters > 5 million
    assert.ok(cost.rssGrowth < 50 * MB, figures(cost));
    assert.ok(cost.longestStall < 200, figures(cost)); // a source that is never slow still lets others run
  });

  test("a 4 MB Flate-bomb PDF: over budget (memory) in its child; the broker grows by < 100 MB", async (t) => {
    const bomb = flateBombPdf(4000); // inflates to 4000 MiB of NUL bytes
    assert.ok(bomb.length < 4.5 * MB, `${bomb.length} bytes`);
    const cost = await measure(() =>
      inspectFile(source(bomb), { name: "bomb.pdf", size: bomb.length }, { ...defaults, timeoutMs: 20_000 }),
    );
    t.diagnostic(figures(cost));
    assert.equal(cost.inspection.reason, InspectionReason.memory);
    assert.ok(cost.rssGrowth < 100 * MB, figures(cost));
  });

  test("a DOCX of deeply nested elements: corrupt at depth 256, no stall, no memory blow-up", async (t) => {
    const nested = nestedDocx(8_000_000); // 88 MB of XML in ~130 KiB
    assert.ok(nested.length < 200 * 1024, `${nested.length} bytes`);
    const cost = await measure(() =>
      inspectFile(source(nested), { name: "nested.docx", size: nested.length }, defaults),
    );
    t.diagnostic(figures(cost));
    assert.equal(cost.inspection.reason, InspectionReason.corrupt);
    assert.ok(cost.longestStall < 200, figures(cost));
    assert.ok(cost.rssGrowth < 100 * MB, figures(cost));
  });

  test("a DOCX of 16 MB of flat XML (inflating 340x) is read without stalling the event loop for 200 ms", async (t) => {
    const paragraph = "<w:p><w:r><w:t>ab</w:t></w:r></w:p>";
    const flat = docx([], {
      parts: {
        "word/document.xml": `<w:document xmlns:w="w"><w:body>${paragraph.repeat((16 * MB) / paragraph.length)}</w:body></w:document>`,
      },
    });
    const cost = await measure(() =>
      inspectFile(source(flat), { name: "flat.docx", size: flat.length }, { ...defaults, timeoutMs: 60_000 }),
    );
    t.diagnostic(figures(cost));
    assert.equal(cost.inspection.reason, null);
    assert.ok(cost.longestStall < 200, figures(cost));
  });
});

describe("how many at a time", () => {
  test("at most 2 inspections at a time; a third waits within its own deadline", async () => {
    const open = { now: 0, most: 0 };
    const slow = () =>
      (async function* () {
        open.most = Math.max(open.most, ++open.now);
        try {
          for (let i = 0; i < 10; i++) {
            await sleep(30);
            yield strToU8("some text ");
          }
        } finally {
          open.now--;
        }
      })();
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => inspectFile(slow, { name: `${i}.txt`, size: 100 }, defaults)),
    );
    assert.deepEqual(
      results.map((result) => result.reason),
      [null, null, null, null, null],
    );
    assert.equal(open.most, 2);
    assert.ok(performance.now() - started >= 3 * 300, "three rounds of two");

    // Two slots held by sources that never end: a third inspection times out waiting, unopened.
    const stuck = () => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
    });
    const holders = [1, 2].map(() =>
      inspectFile(stuck, { name: "s", size: 1 }, { ...defaults, timeoutMs: 600 }),
    );
    let opened = false;
    const waiting = await inspectFile(
      () => {
        opened = true;
        return stuck();
      },
      { name: "w", size: 1 },
      { ...defaults, timeoutMs: 200 },
    );
    assert.equal(waiting.reason, InspectionReason.timeout);
    assert.equal(opened, false);
    for (const holder of await Promise.all(holders)) assert.equal(holder.reason, InspectionReason.timeout);
  });

  test("PDFs are read one at a time, each in a child process that is gone after", async () => {
    const files = [1, 2].map((n) => pdf([`page of file ${n}`]));
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, (await childProcesses()).length);
        await sleep(10);
      }
    })();
    const results = await Promise.all(
      files.map((bytes, i) => inspectFile(source(bytes), { name: `${i}.pdf`, size: bytes.length }, defaults)),
    );
    sampling = false;
    await sampler;
    results.forEach((result, i) =>
      assert.ok(result.text?.includes(`page of file ${i + 1}`), result.reason ?? ""),
    );
    assert.equal(most, 1, "one child at a time");
    await sleep(100);
    assert.deepEqual(await childProcesses(), [], "no child left behind");
  });
});

/** The ids of this process's node child processes (Linux: /proc/<pid>/task/<tid>/children). */
async function childProcesses(): Promise<string[]> {
  const tasks = await readdir(`/proc/${process.pid}/task`);
  const lists = await Promise.all(
    tasks.map((task) => readFile(`/proc/${process.pid}/task/${task}/children`, "utf8").catch(() => "")),
  );
  const children = lists.flatMap((list) => list.split(" ").filter(Boolean));
  // prlimit, run briefly to cap a child's address space, is not a PDF child.
  const names = await Promise.all(
    children.map((pid) => readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")),
  );
  return children.filter((_, i) => names[i]?.trim() === basename(process.execPath).slice(0, 15));
}
