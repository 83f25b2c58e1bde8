// Gathers one-item calls into batches. Each partition's handler works on one message at a time, so
// a query per message costs a round trip (and, for a write, a commit) per message; made through a
// batcher, the calls of every partition that arrive while one batch is in PostgreSQL share the next
// statement. Each caller still waits for its own result, so nothing is acknowledged earlier.

/** Runs one statement for many items; answers one result per item, in the items' order. */
export type BatchRun<In, Out> = (items: readonly In[]) => Promise<readonly Out[]>;

export function createBatcher<In, Out>(run: BatchRun<In, Out>, maxBatch = 256): (item: In) => Promise<Out> {
  let queue: Array<{ item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }> = [];
  let running = false;

  const next = () => {
    if (running || queue.length === 0) return;
    running = true;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    run(batch.map((entry) => entry.item))
      .then((results) => {
        if (results.length !== batch.length)
          throw new Error(`batch of ${batch.length} answered ${results.length} results`);
        batch.forEach((entry, index) => entry.resolve(results[index] as Out));
      })
      .catch((error: unknown) => {
        for (const entry of batch) entry.reject(error);
      })
      .finally(() => {
        running = false;
        next();
      });
  };

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      // Calls made in the same turn of the event loop join the batch this one starts.
      if (queue.length === 1) queueMicrotask(next);
    });
}
