// Extracts a PDF's text in a child process: pdf.js cannot be interrupted inside its own thread, and a
// worker thread's resource limits do not count the ArrayBuffers a Flate bomb fills, so pdf.js runs
// in a process of its own whose memory is capped and watched, and which is killed when the time is
// up. One PDF at a time per broker process; one short-lived child per PDF.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Deadline } from "./deadline.ts";
import { Gate } from "./gate.ts";
import {
  PDF_CHILD_ADDRESS_SPACE_MB,
  PDF_CHILD_HEAP_MB,
  PDF_CHILD_RSS_MB,
  PDF_CHILD_RSS_POLL_MS,
  PDF_CONCURRENCY,
} from "./limits.ts";
import { pdfChildArgs, type PdfAnswer, type PdfChildMessage } from "./pdf-job.ts";
import { capAddressSpace, watchResidentMemory } from "./process-memory.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

const MIB = 1024 * 1024;
const childScript = fileURLToPath(new URL("./pdf-child.ts", import.meta.url));
// The child is TypeScript: loaded through tsx, the project's runtime.
const tsxLoader = import.meta.resolve("tsx");
const pdfGate = new Gate(PDF_CONCURRENCY);
/**
 * pdf.js 5 sends fonts as `ArrayBuffer.prototype.transferToFixedLength` (ES2024); Node 20's V8 has it
 * behind this flag only, and without it pdf.js drops a page's operators silently.
 */
const V8_FEATURES =
  typeof (ArrayBuffer.prototype as { transferToFixedLength?: unknown }).transferToFixedLength === "function"
    ? []
    : ["--harmony-rab-gsab-transfer"];
/** What V8 or the allocator print when memory runs out (read from the child's stderr, never logged). */
const OUT_OF_MEMORY = /out of memory|allocation failed|reached heap limit/i;
/** Bytes of the child's stderr kept, from its end: enough for V8's fatal error line. */
const STDERR_TAIL_BYTES = 4096;

/**
 * The PDF's text; throws `UninspectableError` (encrypted, pictures, embedded files, corrupt, over
 * budget: text, memory or time). Waits for the one PDF slot within the deadline.
 */
export async function extractPdfText(
  bytes: Uint8Array,
  maxTextChars: number,
  deadline: Deadline,
): Promise<string> {
  deadline.check();
  let release: () => void;
  try {
    release = await pdfGate.enter(deadline.signal);
  } catch (error) {
    throw deadline.expired() ?? new UninspectableError(InspectionReason.timeout, { cause: error });
  }
  let answer: PdfAnswer;
  let started = false;
  try {
    deadline.check();
    // The slot is given back when the child is gone, not before: never two children at once.
    const running = runChild(bytes, maxTextChars, deadline.signal, release);
    started = true;
    answer = await deadline.race(running);
  } catch (error) {
    if (!started) release();
    throw error;
  }
  if (!answer.ok) throw new UninspectableError(answer.reason);
  return answer.text;
}

/**
 * Starts the child, hands it the bytes, and settles with its answer. The child is killed when
 * `signal` aborts or its memory is over the cap; `onGone` is called once it has exited.
 */
function runChild(
  bytes: Uint8Array,
  maxTextChars: number,
  signal: AbortSignal,
  onGone: () => void,
): Promise<PdfAnswer> {
  const child = spawn(
    process.execPath,
    [
      // Wasm memories without guard regions, so pdf.js's wasm decoders fit the capped address space.
      "--disable-wasm-trap-handler",
      ...V8_FEATURES,
      `--max-old-space-size=${PDF_CHILD_HEAP_MB}`,
      "--import",
      tsxLoader,
      childScript,
      ...pdfChildArgs(bytes.length, maxTextChars),
    ],
    {
      // stdout dropped (whatever pdf.js prints never reaches the broker's log), stderr kept for OOM.
      stdio: ["pipe", "ignore", "pipe", "ipc"],
      // None of the broker's environment (tokens, secrets); few malloc arenas, a smaller address space.
      env: { MALLOC_ARENA_MAX: "2", ...(process.env["TMPDIR"] ? { TMPDIR: process.env["TMPDIR"] } : {}) },
    },
  );
  let stderrTail = "";
  child.stderr?.setEncoding("latin1");
  child.stderr?.on("data", (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
  });
  child.stdin?.on("error", () => {}); // EPIPE when the child died before reading everything
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  signal.addEventListener("abort", kill, { once: true });
  child.once("exit", onGone);
  child.once("error", onGone);
  let overMemory = false;
  const stopWatching =
    child.pid === undefined
      ? () => {}
      : watchResidentMemory(child.pid, PDF_CHILD_RSS_MB * MIB, PDF_CHILD_RSS_POLL_MS, () => {
          overMemory = true;
          kill();
        });

  return new Promise<PdfAnswer>((resolve, reject) => {
    child.on("message", (message: PdfChildMessage) => {
      if (message.type === "ready") {
        void sendBytes();
      } else if (message.type === "answer") {
        resolve(message.answer);
      }
    });
    const sendBytes = async (): Promise<void> => {
      if (child.pid !== undefined) await capAddressSpace(child.pid, PDF_CHILD_ADDRESS_SPACE_MB * MIB);
      // A view of the reader's buffer: written to the pipe as it is, not copied.
      child.stdin?.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    };
    child.once("error", (error) => reject(new UninspectableError(InspectionReason.failed, { cause: error })));
    // After the IPC channel and stderr are drained: an answer sent before exiting has arrived.
    child.once("close", () => {
      const memory = overMemory || OUT_OF_MEMORY.test(stderrTail);
      reject(new UninspectableError(memory ? InspectionReason.memory : InspectionReason.failed));
    });
  }).finally(() => {
    stopWatching();
    signal.removeEventListener("abort", kill);
    kill();
  });
}
