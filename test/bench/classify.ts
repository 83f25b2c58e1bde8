// Part 3, classification: the default policy's evaluate() alone, on the main thread (one core), and
// what each custom detector added to it costs.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import {
  compilePolicy,
  defaultPolicyPath,
  formatProblem,
  loadPolicyFile,
  parsePolicy,
  type EvaluationInput,
  type Policy,
} from "../../policies/index.ts";
import { chatText, errorText, MiB } from "./util.ts";

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
    runFor(policy, inputs, Math.min(500, settings.durationMs / 3)); // warm-up, not counted
    const { evaluations, seconds, sensitive, errors } = runFor(policy, inputs, settings.durationMs);
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

interface Timed {
  evaluations: number;
  seconds: number;
  /** This process's user + system CPU time over the same interval (`process.cpuUsage`). */
  cpuSeconds: number;
  sensitive: number;
  errors: number;
}

/**
 * Evaluates the inputs round-robin for about `durationMs`. Batches grow until one takes about 10 ms,
 * so the clock is read rarely for short texts and the run does not overshoot its duration much for
 * large ones.
 */
function runFor(policy: Policy, inputs: readonly EvaluationInput[], durationMs: number): Timed {
  let evaluations = 0;
  let sensitive = 0;
  let errors = 0;
  let next = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const result = policy.evaluate(inputs[next++ % inputs.length] as EvaluationInput);
      if (!result.ok) errors += 1;
      else if (result.verdict.sensitive) sensitive += 1;
    }
    evaluations += count;
  };
  const cpuStart = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpuStart);
  return {
    evaluations,
    seconds: elapsed / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    sensitive,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------------
// Cost per extra custom detector

/**
 * Twenty distinct custom detectors of the kind a company adds: an internal identifier with a fixed
 * shape and a word or two that raise confidence. Every repeat is bounded, as the policy language
 * requires. None of them matches the bench's chat text, so each costs one regex pass that finds
 * nothing, which is what most detectors do on most messages.
 */
export const customDetectorsForBench: ReadonlyArray<{ type: string; pattern: string; keywords: string[] }> = [
  { type: "employee-id", pattern: String.raw`\bEMP-\d{6}\b`, keywords: ["employee", "staff"] },
  { type: "project-code", pattern: String.raw`\bPRJ-[A-Z]{3}-\d{4}\b`, keywords: ["project"] },
  { type: "contract-number", pattern: String.raw`\bCTR-\d{4}-\d{5}\b`, keywords: ["contract"] },
  { type: "customer-account", pattern: String.raw`\bACCT-\d{8}\b`, keywords: ["account", "customer"] },
  { type: "purchase-order", pattern: String.raw`\bPO-\d{7}\b`, keywords: ["purchase order"] },
  { type: "medical-record-number", pattern: String.raw`\bMRN-\d{8}\b`, keywords: ["patient", "MRN"] },
  { type: "legal-case", pattern: String.raw`\bCASE-\d{4}-\d{6}\b`, keywords: ["case", "counsel"] },
  { type: "vendor-id", pattern: String.raw`\bVND-[A-Z]{2}\d{5}\b`, keywords: ["vendor", "supplier"] },
  { type: "badge-number", pattern: String.raw`\bBDG-\d{5}\b`, keywords: ["badge"] },
  {
    type: "internal-host",
    pattern: String.raw`\b[a-z]{2,12}-(?:prod|stg)-\d{2}\.corp\.example\.net\b`,
    keywords: ["host", "server"],
  },
  { type: "salary-invoice", pattern: String.raw`\bSAL-\d{4}-\d{6}\b`, keywords: ["salary", "invoice"] },
  {
    type: "payroll-run",
    pattern: String.raw`\bPAY-20\d{2}-(?:0[1-9]|1[0-2])\b`,
    keywords: ["payroll"],
  },
  { type: "insurance-policy", pattern: String.raw`\bPOL-\d{3}-\d{7}\b`, keywords: ["policy", "insurance"] },
  { type: "shipment-id", pattern: String.raw`\bSHP-[A-Z0-9]{10}\b`, keywords: ["shipment"] },
  {
    type: "license-key",
    pattern: String.raw`\b[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b`,
    keywords: ["license", "key"],
  },
  { type: "incident-number", pattern: String.raw`\bINC\d{7}\b`, keywords: ["incident"] },
  { type: "tax-id", pattern: String.raw`\bTIN-\d{2}-\d{7}\b`, keywords: ["tax"] },
  { type: "transfer-reference", pattern: String.raw`\bREF-[A-Z]{4}\d{8}\b`, keywords: ["transfer", "wire"] },
  { type: "grant-number", pattern: String.raw`\bGRT-\d{2}-[A-Z]{2}-\d{4}\b`, keywords: ["grant"] },
  { type: "candidate-id", pattern: String.raw`\bCAND-\d{5,6}\b`, keywords: ["candidate", "recruiting"] },
];

export interface DetectorCostSettings {
  /** Time per case over all rounds, in milliseconds. */
  durationMs: number;
  shortBytes: number;
  largeBytes: number;
  /** How many custom detectors each measured policy has, e.g. [0, 1, 5, 20]. */
  counts: number[];
}

export interface DetectorCostRow {
  detectors: number;
  policyVersion: string;
  /** Rates are per wall-clock second; times per message are CPU time. */
  short: Timed & { msgsPerSecond: number; usPerMessage: number };
  large: Timed & { mbPerSecond: number; msPerMessage: number };
}

export interface DetectorCostResult {
  rows: DetectorCostRow[];
  rounds: number;
  /** Least-squares slope of the time per message against the number of detectors. */
  shortUsPerDetector: number;
  /** That slope on the large texts, relative to the time with no custom detector. */
  largeSlowdownPerDetector: number;
  errors: string[];
}

/**
 * The default policy's text with `count` custom detectors and one sensitive rule using them (none
 * with 0), parsed and compiled as the broker does.
 */
export function policyWithCustomDetectors(defaultText: string, count: number): Policy {
  const chosen = customDetectorsForBench.slice(0, count);
  const document = parseDocument(defaultText);
  document.set("version", `${String(document.get("version"))}-bench-${count}`);
  if (chosen.length > 0) {
    document.setIn(["detectors", "custom"], document.createNode(chosen));
    document.addIn(
      ["rules"],
      document.createNode({
        id: "bench-custom-identifiers",
        description: "A message names an internal identifier next to a word that says what it is.",
        when: { detected: { types: chosen.map((d) => d.type), minConfidence: 0.9 } },
        outcome: "sensitive",
        reason: "This message names an internal identifier; the conversation stays on-prem.",
      }),
    );
  }
  const parsed = parsePolicy(document.toString(), `default.yaml + ${count} custom detectors`);
  if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join("; "));
  return compilePolicy(parsed.document);
}

function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** The round with the middle CPU time per evaluation. */
function medianRound(rounds: readonly Timed[]): Timed {
  const sorted = [...rounds].sort((a, b) => a.cpuSeconds / a.evaluations - b.cpuSeconds / b.evaluations);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Timed;
}

/**
 * Each policy on the same 64 short and 64 large unlabelled texts. The time per case is split into
 * rounds taken in turn over every policy, so a busy patch of the machine slows every count alike;
 * each figure is the round with the median CPU time per evaluation, and the times per message are
 * CPU time, which other work on a busy machine inflates far less than wall time.
 */
export async function benchDetectorCost(settings: DetectorCostSettings): Promise<DetectorCostResult> {
  const rounds = 5;
  const errors: string[] = [];
  const defaultText = await readFile(defaultPolicyPath, "utf8");
  const policies: Array<{ count: number; policy: Policy }> = [];
  for (const count of settings.counts) {
    if (count > customDetectorsForBench.length) {
      errors.push(`${count} custom detectors asked for; the bench defines ${customDetectorsForBench.length}`);
      continue;
    }
    try {
      policies.push({ count, policy: policyWithCustomDetectors(defaultText, count) });
    } catch (error) {
      errors.push(`the policy with ${count} custom detectors: ${errorText(error)}`);
    }
  }
  const conversation = {
    id: randomUUID(),
    title: "bench",
    labels: [] as string[],
    members: [{ id: "alice" }, { id: "bob" }],
    externalParticipants: false,
    bindings: [],
    sensitive: false,
  };
  const inputsOf = (bytes: number): EvaluationInput[] =>
    Array.from({ length: 64 }, () => ({
      conversation,
      message: { id: randomUUID(), sender: { id: "alice", roles: [] }, text: chatText(bytes) },
    }));
  const sizes = [
    { key: "short" as const, bytes: settings.shortBytes, inputs: inputsOf(settings.shortBytes) },
    { key: "large" as const, bytes: settings.largeBytes, inputs: inputsOf(settings.largeBytes) },
  ];
  const timed = new Map<string, Timed[]>();
  const roundMs = settings.durationMs / rounds;
  for (const { policy } of policies) {
    for (const size of sizes) runFor(policy, size.inputs, Math.min(250, roundMs / 2)); // warm-up
  }
  for (let round = 0; round < rounds; round++) {
    for (const { count, policy } of policies) {
      for (const size of sizes) {
        const key = `${count}/${size.key}`;
        timed.set(key, [...(timed.get(key) ?? []), runFor(policy, size.inputs, roundMs)]);
      }
    }
  }
  const rows: DetectorCostRow[] = policies.map(({ count, policy }) => {
    const short = medianRound(timed.get(`${count}/short`) ?? []);
    const large = medianRound(timed.get(`${count}/large`) ?? []);
    return {
      detectors: count,
      policyVersion: policy.version,
      short: {
        ...short,
        msgsPerSecond: short.evaluations / short.seconds,
        usPerMessage: (short.cpuSeconds * 1e6) / short.evaluations,
      },
      large: {
        ...large,
        mbPerSecond: (large.evaluations * settings.largeBytes) / MiB / large.seconds,
        msPerMessage: (large.cpuSeconds * 1e3) / large.evaluations,
      },
    };
  });
  const largeSlope = slope(rows.map((r) => [r.detectors, r.large.msPerMessage]));
  const largeBase = rows.find((r) => r.detectors === 0)?.large.msPerMessage;
  return {
    rows,
    rounds,
    shortUsPerDetector: slope(rows.map((r) => [r.detectors, r.short.usPerMessage])),
    largeSlowdownPerDetector: largeBase === undefined ? Number.NaN : largeSlope / largeBase,
    errors,
  };
}
