// Part 3, classification: the default policy's evaluate() alone, on the main thread (one core).
import { randomUUID } from "node:crypto";
import { defaultPolicyPath, loadPolicyFile, type EvaluationInput } from "../../policies/index.ts";
import { chatText, MiB } from "./util.ts";

export interface ClassifyResult {
  label: string;
  textBytes: number;
  conversation: string;
  evaluations: number;
  seconds: number;
  msgsPerSecond: number;
  mbPerSecond: number;
  sensitive: number;
  errors: number;
}

export interface ClassifySettings {
  /** How long each case runs, in milliseconds. */
  durationMs: number;
  shortBytes: number;
  largeBytes: number;
}

export async function benchClassification(
  settings: ClassifySettings,
): Promise<{ policyVersion: string; results: ClassifyResult[] }> {
  const policy = await loadPolicyFile(defaultPolicyPath);
  const cases = [
    { label: "short chat message", bytes: settings.shortBytes, labels: [] as string[] },
    { label: "short chat message", bytes: settings.shortBytes, labels: ["finance"] },
    { label: "large text", bytes: settings.largeBytes, labels: [] as string[] },
    { label: "large text", bytes: settings.largeBytes, labels: ["finance"] },
  ];
  const results: ClassifyResult[] = [];
  for (const c of cases) {
    // 64 different messages in one conversation, evaluated round-robin.
    const conversation = {
      id: randomUUID(),
      title: "bench",
      labels: c.labels,
      members: [{ id: "alice" }, { id: "bob" }],
      externalParticipants: false,
      bindings: [],
      sensitive: false,
    };
    const inputs: EvaluationInput[] = Array.from({ length: 64 }, () => ({
      conversation,
      message: { id: randomUUID(), sender: { id: "alice", roles: [] }, text: chatText(c.bytes) },
    }));
    let evaluations = 0;
    let sensitive = 0;
    let errors = 0;
    let next = 0;
    const run = (count: number) => {
      for (let i = 0; i < count; i++) {
        const result = policy.evaluate(inputs[next++ & 63] as EvaluationInput);
        if (!result.ok) errors += 1;
        else if (result.verdict.sensitive) sensitive += 1;
      }
      evaluations += count;
    };
    // Batches grow until one takes about 10 ms, so the clock is read rarely for short texts and the
    // run does not overshoot its duration much for large ones.
    const runFor = (durationMs: number): number => {
      const start = performance.now();
      let batch = 1;
      let elapsed = 0;
      while (elapsed < durationMs) {
        const before = performance.now();
        run(batch);
        const now = performance.now();
        if (now - before < 10) batch *= 2;
        elapsed = now - start;
      }
      return elapsed;
    };
    runFor(Math.min(500, settings.durationMs / 3)); // warm-up, not counted
    evaluations = 0;
    sensitive = 0;
    errors = 0;
    const elapsed = runFor(settings.durationMs);
    const seconds = elapsed / 1000;
    results.push({
      label: c.label,
      textBytes: c.bytes,
      conversation: c.labels.length === 0 ? "no labels (normal)" : `labelled ${c.labels.join(", ")}`,
      evaluations,
      seconds,
      msgsPerSecond: evaluations / seconds,
      mbPerSecond: (evaluations * c.bytes) / MiB / seconds,
      sensitive,
      errors,
    });
  }
  return { policyVersion: policy.version, results };
}
