// A broker child process started as `startChildBroker` starts one, plus `node --cpu-prof`: Node.js
// refuses --cpu-prof in NODE_OPTIONS, so the flag has to be on the command line. The profile is
// written when the process exits normally (SIGTERM: `watershed start` closes, then exits 0).
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { ConfigInput } from "../../broker/config/index.ts";
import type { ChildBroker } from "../helpers/broker.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export async function startProfiledBroker(
  input: ConfigInput,
  profileDir: string,
  label = "profiled broker",
): Promise<ChildBroker> {
  const dir = await mkdtemp(join(tmpdir(), "watershed-bench-child-"));
  const configFile = join(dir, "watershed.yaml");
  await writeFile(configFile, stringify({ ...input, log: { level: "info" } }));
  const child = spawn(
    process.execPath,
    [
      "--cpu-prof",
      `--cpu-prof-dir=${profileDir}`,
      // The rest as test/helpers/broker.ts (and `npm start`) runs it.
      "--max-semi-space-size=2",
      "--import",
      "tsx",
      "broker/cli/main.ts",
      "start",
      "--config",
      configFile,
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WATERSHED_CONFIG: "" } },
  );
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"address":"(http:\/\/[^"]+)".*"msg":"watershed started"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before starting:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    async kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
