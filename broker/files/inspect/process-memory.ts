// Bounds the memory of a child process from outside, on Linux: its address space capped with
// prlimit(1) (util-linux), and its resident memory watched through /proc. Resource limits of worker
// threads do not count ArrayBuffers, and a process is the unit the kernel can cap and kill.
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

let prlimitFound: Promise<string | null> | undefined;

/** The path of prlimit on PATH (or in /usr/bin), looked up once; null where util-linux lacks it. */
export function findPrlimit(): Promise<string | null> {
  prlimitFound ??= (async () => {
    const directories = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/bin", "/bin"];
    for (const directory of directories.filter(Boolean)) {
      const candidate = join(directory, "prlimit");
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not there: the next directory
      }
    }
    return null;
  })();
  return prlimitFound;
}

/** A field of /proc/<pid>/status in bytes (VmSize, VmRSS), or null when it cannot be read. */
async function statusBytes(pid: number, field: "VmSize" | "VmRSS"): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Caps the address space of process `pid` at what it has mapped now plus `headroomBytes`, so
 * whatever it allocates from now on fails past that (an mmap refused: a RangeError, or V8's fatal
 * out-of-memory). True when the cap is set; false without prlimit or /proc.
 */
export async function capAddressSpace(pid: number, headroomBytes: number): Promise<boolean> {
  const prlimit = await findPrlimit();
  const mapped = await statusBytes(pid, "VmSize");
  if (prlimit === null || mapped === null) return false;
  try {
    await run(prlimit, ["--pid", String(pid), `--as=${mapped + headroomBytes}`], { timeout: 2_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Looks at the resident memory of process `pid` every `intervalMs` and calls `onOver` once it
 * exceeds `capBytes`; returns the function that stops watching. Does nothing where /proc is absent.
 */
export function watchResidentMemory(
  pid: number,
  capBytes: number,
  intervalMs: number,
  onOver: () => void,
): () => void {
  let stopped = false;
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    void statusBytes(pid, "VmRSS").then((resident) => {
      reading = false;
      if (resident === null) return;
      if (!stopped && resident > capBytes) {
        stop();
        onOver();
      }
    });
  }, intervalMs);
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
