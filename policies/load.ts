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

export async function loadPolicyFile(path: string): Promise<Policy> {
  const text = await readFile(path, "utf8");
  const parsed = parsePolicy(text, path);
  if (!parsed.ok) throw new PolicyLoadError(parsed.problems);
  return compilePolicy(parsed.document);
}
