// The report's part 6: a large upload through a broker child process with each file store.
import { uploadRssLimitBytes, type UploadOutcome, type UploadRow } from "./files.ts";
import { L, markdownTable, mib, MiB, num, percent, R } from "./util.ts";

const storeNames: Record<UploadRow["storeKind"], string> = {
  nats: "NATS object store",
  s3: "S3 store on s3rver",
};

const uploadLimitText = `${num(uploadRssLimitBytes / 1e6)} MB (${num(uploadRssLimitBytes / MiB, 1)} MiB)`;

function uploadTable(rows: readonly UploadRow[]): string[] {
  const out = [
    markdownTable(
      [
        L("Store"),
        R("RSS before (MiB)"),
        R("Peak RSS (MiB)"),
        R("Time (s)"),
        R("MiB/s"),
        L(`Peak under ${num(uploadRssLimitBytes / 1e6)} MB`),
      ],
      rows.map((row) => [
        storeNames[row.storeKind],
        mib(row.rssBeforeBytes),
        mib(row.peakBytes),
        num(row.seconds, 1),
        num(row.mbPerSecond, 0),
        row.peakBytes < uploadRssLimitBytes ? "yes" : "**no**",
      ]),
    ),
    "",
  ];
  const grown = rows.map(
    (row) =>
      `${mib(row.peakBytes - row.rssBeforeBytes)} MiB with the ${storeNames[row.storeKind]} ` +
      `(${percent((row.peakBytes - row.rssBeforeBytes) / row.sizeBytes)} of the file)`,
  );
  out.push(`The peak stood ${grown.join(" and ")} above the resident memory before the upload.`, "");
  return out;
}

export function uploadSummary(upload: UploadOutcome | null, sizeMiB: number): string[] {
  const uploads = upload?.rows ?? [];
  if (uploads.length === 0) return [];
  return [
    `- A ${num(sizeMiB)} MiB upload through a broker process, peak RSS of the broker: ` +
      uploads
        .map(
          (row) =>
            `${storeNames[row.storeKind]} **${mib(row.peakBytes)} MiB** (${num(row.mbPerSecond, 0)} MiB/s)`,
        )
        .join(", ") +
      (uploads.every((row) => row.peakBytes < uploadRssLimitBytes)
        ? `; under the ${uploadLimitText} the test allows.`
        : `; **over the ${uploadLimitText} the test allows**.`),
  ];
}

export function uploadSection(upload: UploadOutcome | null, sizeMiB: number, asked: boolean): string[] {
  const out = [
    `## 6. A ${num(sizeMiB)} MiB upload`,
    "",
    "The helper of the streaming test `test/integration/files-memory.test.ts` (`test/helpers/upload-memory.ts`):",
    "for each file store, a broker started as a child process the way `npm start` runs it (`watershed start`,",
    "`--max-semi-space-size=2`) on a fresh database and stream prefix, keeping file bytes in the NATS JetStream",
    "object store or in an S3 store (s3rver, running in the bench process, so its memory is not the broker's).",
    `The bench POSTs a generated file of ${num(sizeMiB)} MiB to \`/v1/conversations/{id}/files\` as one`,
    "streamed request with its `content-length`, made on the fly in 1 MiB chunks and never held. _RSS before_",
    "is the broker's `VmRSS` just before the upload; _peak RSS_ is its `VmHWM` after the answer, read from",
    "`/proc/<pid>/status`: the highest resident memory over the process's whole life, start-up included. A file",
    "over `files.inspectMaxBytes` (50 MiB by default) is not read for text, so this measures the streaming",
    `path. Time runs from the first byte sent to the answer (201). The test holds the peak under ${uploadLimitText}.`,
    "",
  ];
  if (upload && upload.rows.length > 0) return [...out, ...uploadTable(upload.rows)];
  return [
    ...out,
    !asked || sizeMiB === 0
      ? "Not asked for in this run (`BENCH_UPLOAD_MIB=0` or `BENCH_PARTS`)."
      : "Not measured in this run (see the errors above).",
    "",
  ];
}
