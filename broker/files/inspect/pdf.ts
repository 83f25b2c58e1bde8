// Extracts a PDF's text in a worker thread: pdf.js cannot be interrupted inside its own thread, a
// worker can be terminated, and its heap is capped. One short-lived worker per PDF.
import { Worker } from "node:worker_threads";
import type { Deadline } from "./deadline.ts";
import { PDF_WORKER_HEAP_MB } from "./limits.ts";
import type { PdfAnswer, PdfJob } from "./pdf-job.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

const workerUrl = new URL("./pdf-worker.ts", import.meta.url).href;
// The worker is TypeScript: it is loaded through tsx, the project's runtime, from inside the thread.
const tsxApiUrl = import.meta.resolve("tsx/esm/api");
const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then(({ tsImport }) => tsImport(${JSON.stringify(workerUrl)}, ${JSON.stringify(workerUrl)}))`;

/** The PDF's text; throws `UninspectableError` (encrypted, corrupt, over budget, timeout). */
export async function extractPdfText(
  bytes: Uint8Array,
  maxTextChars: number,
  deadline: Deadline,
): Promise<string> {
  deadline.check();
  const data = bytes.slice().buffer; // a copy of its own, transferred to the worker
  const job: PdfJob = { data, maxTextChars };
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: job,
    transferList: [data],
    resourceLimits: { maxOldGenerationSizeMb: PDF_WORKER_HEAP_MB },
    stdout: true, // whatever pdf.js prints is dropped, never mixed into the broker's log
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  try {
    const answer = await deadline.race(
      new Promise<PdfAnswer>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", () => reject(new UninspectableError(InspectionReason.failed)));
      }),
    );
    if (!answer.ok) throw new UninspectableError(answer.reason);
    return answer.text;
  } catch (error) {
    if (error instanceof UninspectableError) throw error;
    const outOfMemory = (error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY";
    throw new UninspectableError(outOfMemory ? InspectionReason.memory : InspectionReason.failed, {
      cause: error,
    });
  } finally {
    void worker.terminate();
  }
}
