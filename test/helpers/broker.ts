// Brokers for tests: in-process (startBroker) or as a child process that can be SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { ConfigSchema, type Config, type ConfigInput } from "../../broker/config/index.ts";
import { natsUrl } from "./services.ts";
import { testAudience, testIssuer } from "./keys.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface TestConfigOptions {
  databaseUrl: string;
  prefix: string;
  jwksFile: string;
  webhook?: { url: string; secret: string };
  overrides?: Partial<ConfigInput>;
}

/** A configuration for tests: private prefix and database, short ack wait, quick retries. */
export function testConfigInput(options: TestConfigOptions): ConfigInput {
  const base: ConfigInput = {
    http: { host: "127.0.0.1", port: 0 },
    postgres: { url: options.databaseUrl, poolSize: 12 },
    nats: { servers: [natsUrl], prefix: options.prefix, partitions: 8, ackWaitMs: 3000 },
    auth: { issuer: testIssuer, audience: testAudience, jwksFile: options.jwksFile, algorithms: ["ES256"] },
    relay: { maxAttempts: 20, backoffBaseMs: 100, backoffMaxMs: 1000 },
    // Failure paths log on purpose; WATERSHED_TEST_LOG=warn shows them.
    log: { level: (process.env.WATERSHED_TEST_LOG ?? "silent") as "silent" },
    ...(options.webhook ? { connectors: { webhook: { ...options.webhook, timeoutMs: 2000 } } } : {}),
  };
  const overrides = options.overrides ?? {};
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    merged[key] = { ...((base as Record<string, object | undefined>)[key] ?? {}), ...(value as object) };
  }
  return merged as ConfigInput;
}

export function testConfig(options: TestConfigOptions): Config {
  return ConfigSchema.parse(testConfigInput(options));
}

export interface ChildBroker {
  url: string;
  process: ChildProcess;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `watershed start` in a child process and resolves once it listens. `nodeArgs` go before
 * the script (e.g. `--cpu-prof`, which Node refuses in NODE_OPTIONS).
 */
export async function startChildBroker(
  input: ConfigInput,
  label = "broker",
  nodeArgs: readonly string[] = [],
): Promise<ChildBroker> {
  const dir = await mkdtemp(join(tmpdir(), "watershed-child-"));
  const configFile = join(dir, "watershed.yaml");
  await writeFile(configFile, stringify({ ...input, log: { level: "info" } }));
  const child = spawn(
    process.execPath,
    // As `npm start` runs it: a small young generation returns streamed buffers' memory sooner.
    [
      ...nodeArgs,
      "--max-semi-space-size=2",
      "--import",
      "tsx",
      "broker/cli/main.ts",
      "start",
      "--config",
      configFile,
    ],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WATERSHED_CONFIG: "" },
    },
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
