// Policies for tests, made from the shipped default.
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultPolicyPath } from "../../policies/index.ts";

/**
 * The default policy with `retract` on detections and on uninspectable files: what a security
 * team would deploy next to a cloud IM. Written to a temporary file; returns its path.
 */
export async function retractPolicyFile(): Promise<string> {
  let text = (await readFile(defaultPolicyPath, "utf8")).replace(/^version: .*$/m, "version: retract-test-1");
  for (const rule of ["sensitive-detections", "sensitive-file-detections", "sensitive-uninspectable-files"]) {
    text = text.replace(
      new RegExp(`(- id: ${rule}[\\s\\S]*?outcome: sensitive\\n)`),
      "$1    actions: [retract]\n",
    );
  }
  assert.equal(text.match(/actions: \[retract\]/g)?.length, 3);
  const file = join(await mkdtemp(join(tmpdir(), "ws-policy-")), "retract.yaml");
  await writeFile(file, text);
  return file;
}

/** The default policy with file detections blocked (refused at upload) instead of kept on-prem. */
export async function blockPolicyFile(): Promise<string> {
  const text = (await readFile(defaultPolicyPath, "utf8"))
    .replace(/^version: .*$/m, "version: block-test-1")
    .replace(
      /(- id: sensitive-file-detections[\s\S]*?outcome: sensitive\n)\s*reason: .*\n/,
      "$1    reason: blocked by test policy\n    actions: [block]\n",
    );
  assert.match(text, /actions: \[block\]/);
  const file = join(await mkdtemp(join(tmpdir(), "ws-policy-")), "block.yaml");
  await writeFile(file, text);
  return file;
}
