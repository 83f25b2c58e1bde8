// A 512 MiB upload through a broker process, with each store: the broker streams it and its
// resident memory stays under 200 MB. Measured as the child process's peak RSS (VmHWM); `npm run
// bench` reports the same figures (part 6 of docs/benchmarks.md).
import assert from "node:assert/strict";
import { test } from "node:test";
import { uploadStoreKinds, uploadThroughBroker } from "../helpers/upload-memory.ts";

const fileBytes = 512 * 1024 * 1024;
const rssLimitBytes = 200 * 1000 * 1000;

for (const storeKind of uploadStoreKinds) {
  test(`a 512 MiB upload, ${storeKind} store, is streamed: the broker's resident memory stays under 200 MB`, async (t) => {
    const upload = await uploadThroughBroker({ storeKind, sizeBytes: fileBytes });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.size, fileBytes);
    assert.equal(
      upload.body.inspection?.inspectable,
      false,
      "over the inspection budget: kept on-prem by policy",
    );
    t.diagnostic(
      `${storeKind}: RSS before ${(upload.rssBeforeBytes / 1e6).toFixed(0)} MB, peak ${(upload.peakBytes / 1e6).toFixed(0)} MB, ` +
        `${upload.seconds.toFixed(1)} s (${(fileBytes / 1048576 / upload.seconds).toFixed(0)} MiB/s)`,
    );
    assert.ok(upload.peakBytes < rssLimitBytes, `peak RSS ${upload.peakBytes} bytes`);
  });
}
