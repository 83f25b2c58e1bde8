// Part 6, a large upload: a generated file POSTed to a broker child process once with each file
// store, the broker's resident memory read from /proc around it. The same helper backs the test that
// holds the peak under 200 MB (test/integration/files-memory.test.ts).
import { uploadStoreKinds, uploadThroughBroker, type UploadStoreKind } from "../helpers/upload-memory.ts";
import { errorText, MiB } from "./util.ts";

/** The ceiling the streaming test asserts on the broker's peak RSS, in bytes (200 MB, not MiB). */
export const uploadRssLimitBytes = 200 * 1000 * 1000;

export interface UploadSettings {
  /** Size of the generated file, in MiB. */
  sizeMiB: number;
}

export interface UploadRow {
  storeKind: UploadStoreKind;
  sizeBytes: number;
  /** The broker's VmRSS just before the upload. */
  rssBeforeBytes: number;
  /** The broker's VmHWM after the answer: its peak over its whole life, start-up included. */
  peakBytes: number;
  /** First byte sent to the answer. */
  seconds: number;
  mbPerSecond: number;
}

export interface UploadOutcome {
  rows: UploadRow[];
  errors: string[];
}

/** One upload per store, each with its own broker, database and stream prefix; a failed one is reported. */
export async function benchUpload(settings: UploadSettings): Promise<UploadOutcome> {
  const sizeBytes = settings.sizeMiB * MiB;
  const rows: UploadRow[] = [];
  const errors: string[] = [];
  for (const storeKind of uploadStoreKinds) {
    try {
      const upload = await uploadThroughBroker({ storeKind, sizeBytes });
      if (upload.status !== 201 || upload.body.size !== sizeBytes) {
        errors.push(
          `${storeKind} store: answered ${upload.status} ${JSON.stringify(upload.body).slice(0, 300)}`,
        );
        continue;
      }
      rows.push({
        storeKind,
        sizeBytes,
        rssBeforeBytes: upload.rssBeforeBytes,
        peakBytes: upload.peakBytes,
        seconds: upload.seconds,
        mbPerSecond: sizeBytes / MiB / upload.seconds,
      });
    } catch (error) {
      errors.push(`${storeKind} store: ${errorText(error)}`);
    }
  }
  return { rows, errors };
}
