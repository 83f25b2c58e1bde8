// Reads policy test files from disk and runs them: the I/O half of `watershed policy test`.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { loadPolicyFile, PolicyLoadError } from "./load.ts";
import {
  parsePolicyTests,
  runPolicyTestSuite,
  type PolicyTestReport,
  type PolicyTestSuite,
} from "./policy-tests.ts";
import type { Policy, PolicyProblem } from "./types.ts";

export const TESTS_SUFFIX = ".tests.yaml";

/**
 * Every `*.tests.yaml` in `dir` (not its subfolders), sorted by name, or the one file `dir` names.
 * Each suite's `policy` is resolved against its file's folder.
 * @throws PolicyLoadError naming file, line, column and field of every problem found.
 */
/** A suite whose policy file is known, as an absolute path. */
export type ResolvedPolicyTestSuite = PolicyTestSuite & { policy: string };

export async function loadPolicyTests(dir: string): Promise<ResolvedPolicyTestSuite[]> {
  const files = (await stat(dir)).isDirectory()
    ? (await readdir(dir))
        .filter((name) => name.endsWith(TESTS_SUFFIX))
        .sort()
        .map((name) => join(dir, name))
    : [dir];
  const suites: ResolvedPolicyTestSuite[] = [];
  const problems: PolicyProblem[] = [];
  for (const file of files) {
    const parsed = parsePolicyTests(await readFile(file, "utf8"), file);
    if (!parsed.ok) problems.push(...parsed.problems);
    else if (parsed.suite.policy === null) {
      problems.push({
        source: file,
        line: 1,
        column: 1,
        path: "policy",
        message: "name the policy file under test",
      });
    } else suites.push({ ...parsed.suite, policy: resolve(dirname(file), parsed.suite.policy) });
  }
  if (problems.length > 0) throw new PolicyLoadError(problems);
  return suites;
}

/**
 * Runs every case found by `loadPolicyTests`; each policy is loaded once.
 * @throws PolicyLoadError when a test file or a policy under test is invalid.
 */
export async function runPolicyTests(dir: string): Promise<PolicyTestReport> {
  const suites = await loadPolicyTests(dir);
  const policies = new Map<string, Policy>();
  const cases = [];
  for (const suite of suites) {
    const policy = policies.get(suite.policy) ?? (await loadPolicyFile(suite.policy));
    policies.set(suite.policy, policy);
    cases.push(...runPolicyTestSuite(policy, suite));
  }
  const passed = cases.filter((result) => result.passed).length;
  return { cases, passed, failed: cases.length - passed };
}
