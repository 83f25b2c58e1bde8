// Part 5, `watershed classify` on a stream of lines: the real CLI in a child process, fed generated
// JSON lines through its stdin with back-pressure, its stdout read and checked line by line, and its
// resident memory sampled from /proc/<pid>/status while it runs.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { clockTicks } from "./machine.ts";
import { chatText, errorText } from "./util.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export const classifyCliArgs = [
  "--import",
  "tsx",
  "broker/cli/main.ts",
  "classify",
  "--policy",
  "policies/default.yaml",
];

export interface ClassifyCliSettings {
  lines: number;
  conversations: number;
  /** Share of the lines holding a Luhn-valid card number, in percent. */
  cardPercent: number;
  /** The run is stopped when no output line arrives for this long. */
  stallTimeoutMs: number;
}

export interface RssSample {
  /** Seconds since the child was spawned. */
  seconds: number;
  linesOut: number;
  rssBytes: number;
  /** The kernel's high-water mark of the resident set (VmHWM) so far. */
  peakBytes: number;
}

export interface ClassifyCliResult {
  command: string;
  lines: number;
  inputBytes: number;
  conversations: number;
  cardLines: number;
  outputLines: number;
  /** Spawn to exit. */
  seconds: number;
  /** Spawn to the first output line: Node.js, tsx and the policy loading. */
  startupSeconds: number;
  /** First output line to the last one. */
  streamSeconds: number;
  linesPerSecond: number;
  onprem: number;
  cloud: number;
  sticky: number;
  errorLines: number;
  /** Output lines whose zone is not the one expected from the input (cards and stickiness). */
  zoneMismatches: number;
  /** The child's user + system CPU time, from its last /proc/<pid>/stat reading. */
  childCpuSeconds: number;
  /** This process's CPU time over the same run: generating the lines and reading the output. */
  benchCpuSeconds: number;
  samples: RssSample[];
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  errors: string[];
}

function luhnCard(): string {
  let digits = "4";
  while (digits.length < 15) digits += String(Math.floor(Math.random() * 10));
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // From the right, every other digit starting with the one next to the check digit is doubled.
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return `${digits}${(10 - (sum % 10)) % 10}`.replace(/(\d{4})(?=\d)/g, "$1 ");
}

const cardSentences = [
  (card: string) => `Please charge the hotel to my card ${card}, expiry 09/28.`,
  (card: string) => `Card number for the supplier is ${card} if finance asks.`,
  (card: string) => `Use ${card} for the conference tickets, thanks!`,
  (card: string) => `My corporate card: ${card}`,
];

function readStatus(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (rss === undefined) return null;
    return { rss: Number(rss) * 1024, peak: Number(peak ?? rss) * 1024 };
  } catch {
    return null;
  }
}

function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

export async function benchClassifyCli(settings: ClassifyCliSettings): Promise<ClassifyCliResult> {
  const { lines, conversations } = settings;
  // Pools made once, so generating a line costs a string concatenation: ordinary chat of 40 to 300
  // bytes, and card sentences, each already JSON-encoded.
  const chat = Array.from({ length: 512 }, (_, i) => JSON.stringify(chatText(40 + ((i * 37) % 261))));
  const cards = Array.from({ length: 512 }, (_, i) => {
    const sentence = (cardSentences[i % cardSentences.length] as (card: string) => string)(luhnCard());
    return JSON.stringify(i % 2 === 0 ? sentence : `${chatText(60)} ${sentence}`);
  });
  const prefixes = Array.from({ length: conversations }, (_, c) => {
    const id = `bench-conv-${String(c).padStart(5, "0")}`;
    return `{"conversation":{"id":"${id}","title":"team chat","labels":[],"members":[{"id":"alice"},{"id":"bob"}]},"message":{"id":"bench-msg-`;
  });
  const senders = [`","sender":{"id":"alice"},"text":`, `","sender":{"id":"bob","roles":["staff"]},"text":`];
  // What each output line should say: on-prem when the line holds a card or its conversation held
  // one on an earlier line (sticky), the cloud otherwise.
  const expectedOnprem = new Uint8Array(lines);
  const conversationSensitive = new Uint8Array(conversations);

  const result: ClassifyCliResult = {
    command: `node ${classifyCliArgs.join(" ")}`,
    lines,
    inputBytes: 0,
    conversations,
    cardLines: 0,
    outputLines: 0,
    seconds: Number.NaN,
    startupSeconds: Number.NaN,
    streamSeconds: Number.NaN,
    linesPerSecond: Number.NaN,
    onprem: 0,
    cloud: 0,
    sticky: 0,
    errorLines: 0,
    zoneMismatches: 0,
    childCpuSeconds: Number.NaN,
    benchCpuSeconds: Number.NaN,
    samples: [],
    exitCode: null,
    signal: null,
    stderr: "",
    errors: [],
  };

  const cpuAtSpawn = process.cpuUsage();
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, classifyCliArgs, {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const closed = new Promise<void>((resolve) => {
    child.once("close", (code, signal) => {
      result.exitCode = code;
      result.signal = signal;
      resolve();
    });
    // A child that never started emits 'error' and maybe no 'close'.
    child.once("error", () => resolve());
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      result.errors.push(`could not start the CLI: ${errorText(error)}`);
      exited = true;
      resolve();
    });
  });
  let stdinError: string | null = null;
  child.stdin.on("error", (error) => {
    stdinError ??= errorText(error);
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    if (result.stderr.length < 4096) result.stderr += chunk;
  });

  let firstOutputAt = Number.NaN;
  let lastOutputAt = performance.now();
  let carry = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const text = carry + chunk;
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      const index = result.outputLines++;
      let onprem: number;
      if (line.includes('"zone":"onprem"')) {
        result.onprem++;
        onprem = 1;
        if (line.includes('"rules":["sticky"]')) result.sticky++;
      } else if (line.includes('"zone":"cloud"')) {
        result.cloud++;
        onprem = 0;
      } else {
        result.errorLines++;
        onprem = -1;
      }
      if (index >= lines || expectedOnprem[index] !== onprem) result.zoneMismatches++;
    }
    carry = text.slice(start);
    const now = performance.now();
    if (Number.isNaN(firstOutputAt)) firstOutputAt = now;
    lastOutputAt = now;
  });

  let stalled = false;
  const pid = child.pid;
  const sample = () => {
    if (pid === undefined || exited) return;
    const status = readStatus(pid);
    const cpu = readCpuSeconds(pid);
    if (cpu !== null) result.childCpuSeconds = cpu;
    if (status) {
      result.samples.push({
        seconds: (performance.now() - spawnedAt) / 1000,
        linesOut: result.outputLines,
        rssBytes: status.rss,
        peakBytes: status.peak,
      });
    }
    if (!stalled && performance.now() - lastOutputAt > settings.stallTimeoutMs) {
      stalled = true;
      result.errors.push(
        `no output line for ${settings.stallTimeoutMs / 1000} s after ${result.outputLines} lines; the CLI was killed`,
      );
      child.kill("SIGKILL");
    }
  };
  sample();
  const sampler = setInterval(sample, 200);

  try {
    // Lines go out in chunks of 256 (about 50 KiB); a full pipe makes the loop wait for 'drain'.
    const chunkLines = 256;
    for (let i = 0; i < lines && !exited;) {
      let chunk = "";
      const end = Math.min(lines, i + chunkLines);
      for (; i < end; i++) {
        const c = Math.floor(Math.random() * conversations);
        const card = Math.random() * 100 < settings.cardPercent;
        if (card) {
          result.cardLines++;
          conversationSensitive[c] = 1;
        }
        expectedOnprem[i] = conversationSensitive[c] as number;
        const text = card ? cards[i & 511] : chat[(i * 7) & 511];
        chunk += `${prefixes[c]}${i}${senders[i & 1]}${text}}}\n`;
      }
      result.inputBytes += chunk.length;
      if (!child.stdin.write(chunk)) {
        await Promise.race([once(child.stdin, "drain").catch(() => undefined), exitedPromise]);
      }
    }
    child.stdin.end();
    await closed;
  } finally {
    clearInterval(sampler);
    if (!exited) child.kill("SIGKILL");
  }

  const finished = performance.now();
  const benchCpu = process.cpuUsage(cpuAtSpawn);
  result.benchCpuSeconds = (benchCpu.user + benchCpu.system) / 1e6;
  if (carry !== "") result.errors.push("the last output line had no newline");
  result.seconds = (finished - spawnedAt) / 1000;
  result.startupSeconds = (firstOutputAt - spawnedAt) / 1000;
  result.streamSeconds = (lastOutputAt - firstOutputAt) / 1000;
  result.linesPerSecond = result.outputLines / result.streamSeconds;
  if (stdinError !== null) result.errors.push(`writing to the CLI's stdin: ${stdinError}`);
  if (result.exitCode !== 0) {
    result.errors.push(
      `the CLI exited with ${result.signal ?? `code ${String(result.exitCode)}`}` +
        (result.stderr.trim() ? `: ${result.stderr.trim().split("\n").slice(0, 3).join(" ")}` : ""),
    );
  }
  if (result.outputLines !== lines) {
    result.errors.push(`${result.outputLines} output lines for ${lines} input lines`);
  }
  if (result.errorLines > 0) result.errors.push(`${result.errorLines} output lines were errors`);
  if (result.zoneMismatches > 0) {
    result.errors.push(`${result.zoneMismatches} output lines had another zone than expected`);
  }
  if (result.samples.length === 0) result.errors.push(`no /proc/${String(pid)}/status sample was taken`);
  return result;
}
