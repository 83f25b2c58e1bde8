// Reads a policy file from disk. The only I/O in policies/, kept apart so the rest stays pure.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compilePolicy, parsePolicy } from "./compile.ts";
import { formatProblem } from "./yaml.ts";
import type { Policy, PolicyProblem } from "./types.ts";

export const defaultPolicyPath = fileURLToPath(new URL("./default.yaml", import.meta.url));

export class PolicyLoadError extends Error {
  override name = "PolicyLoadError";
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

/** Parses, validates and compiles policy text; `source` names it in problems. */
export function compilePolicyText(text: string, source: string): Policy {
  const parsed = parsePolicy(text, source);
  if (!parsed.ok) throw new PolicyLoadError(parsed.problems);
  return compilePolicy(parsed.document);
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return compilePolicyText(await readFile(path, "utf8"), path);
}
