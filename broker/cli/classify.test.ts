import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { test } from "node:test";
import { defaultPolicyPath, loadPolicyFile } from "../../policies/index.ts";
import { classifyStream } from "./classify.ts";
import { parseSince } from "./policy-commands.ts";

async function classify(lines: string[]): Promise<{ out: Array<Record<string, unknown>>; errors: number }> {
  const policy = await loadPolicyFile(defaultPolicyPath);
  const output = new PassThrough();
  const chunks: string[] = [];
  output.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  const report = await classifyStream(policy, Readable.from([lines.join("\n") + "\n"]), output);
  return {
    out: chunks
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>),
    errors: report.errors,
  };
}

const line = (conversation: string, text: string) =>
  JSON.stringify({
    conversation: { id: conversation, labels: [] },
    message: { id: `m-${text.length}`, sender: { id: "a" }, text },
  });

test("one output line per input line, blank ones included; bad lines are never echoed", async () => {
  const { out, errors } = await classify([
    line("c1", "hello"),
    "",
    "card 4111 1111 1111 1111",
    line("c1", "again"),
  ]);
  assert.equal(out.length, 4);
  assert.equal(out[0]?.zone, "cloud");
  assert.deepEqual(out[1], { line: 2, skipped: "empty line" });
  assert.equal(out[2]?.line, 3);
  assert.doesNotMatch(String(out[2]?.error), /4111/);
  assert.equal(out[3]?.zone, "cloud");
  assert.equal(errors, 1);
});

test("--since takes 7d, 12h, 30m or an ISO date, and refuses a bare number", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  assert.equal(parseSince("7d", now).toISOString(), "2026-11-23T12:00:00.000Z");
  assert.equal(parseSince("12h", now).toISOString(), "2026-11-30T00:00:00.000Z");
  assert.equal(parseSince("30m", now).toISOString(), "2026-11-30T11:30:00.000Z");
  assert.equal(parseSince("2026-11-01", now).toISOString(), "2026-11-01T00:00:00.000Z");
  assert.equal(parseSince("2026-11-01T08:00:00Z", now).toISOString(), "2026-11-01T08:00:00.000Z");
  for (const bad of ["7", "12", "yesterday", "7w"]) assert.throws(() => parseSince(bad, now), /--since/, bad);
});
