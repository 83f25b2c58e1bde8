// Runs the real `watershed` command in a child process, as users do.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const cliTimeoutMs = 60_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The parent's environment without any WATERSHED_* variable, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("WATERSHED_") && key !== "NODE_TEST_CONTEXT") env[key] = value;
  }
  return Object.assign(env, extra);
}

/** Node's arguments for `watershed <args>`. */
export const cliArgs = (args: string[]): string[] => ["--import", "tsx", "broker/cli/main.ts", ...args];

/** Runs `watershed <args>` from the repository root, with `input` on stdin when given. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(args), {
      cwd: repoRoot,
      env: cliEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: cliTimeoutMs,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdin.on("error", () => {}); // a child that exits early is reported by its exit code
    child.stdin.end(options.input ?? "");
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (signal === "SIGKILL") {
        reject(new Error(`watershed ${args.join(" ")} timed out after ${cliTimeoutMs} ms:\n${stderr}`));
      } else {
        resolve({ code, signal, stdout, stderr });
      }
    });
  });
}

export function describeRun(result: CliResult): string {
  return `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

export function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, describeRun(result));
}
