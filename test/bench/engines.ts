// Part 3, detection engines side by side: the default policy next to openredaction and redact-pii,
// on the same texts in the same process, for speed (short chat messages and 64 KiB texts) and for
// what each flags in a small labelled sample.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { OpenRedaction } from "openredaction";
import { SyncRedactor } from "redact-pii";
import {
  defaultPolicyPath,
  loadPolicyFile,
  type EvaluationInput,
  type Policy,
} from "../../policies/index.ts";
import { labelledSample, SampleLabel, type LabelledText } from "./labelled-sample.ts";
import { chatText, MiB } from "./util.ts";

/** What an engine says about one text. */
interface Finding {
  /** It found something (any detection). */
  flagged: boolean;
  /** It would keep the conversation on-prem; only the policy decides that. */
  sensitive?: boolean;
}

interface Engine {
  name: string;
  /** Sync engines run in a plain loop, async ones are awaited one text at a time. */
  detect(text: string): Finding | Promise<Finding>;
}

export interface EngineSpeed {
  engine: string;
  text: string;
  textBytes: number;
  evaluations: number;
  seconds: number;
  msgsPerSecond: number;
  mbPerSecond: number;
}

export interface EngineAccuracy {
  engine: string;
  /** Texts with anything found in them. */
  flagged: number;
  /** Flagged texts labelled sensitive or personal. */
  truePositives: number;
  /** Flagged texts labelled ordinary. */
  falsePositives: number;
  /** Texts labelled sensitive or personal that were not flagged. */
  missed: number;
  /** Missed texts, by kind, e.g. "phone × 2". */
  missedKinds: string[];
  /** Ordinary texts flagged, by kind. */
  falseKinds: string[];
  /** For the policy only: texts it found sensitive, and how many of them are labelled sensitive. */
  sensitive?: { flagged: number; truePositives: number; falsePositives: number; missed: number };
}

export interface EnginesResult {
  engines: string[];
  speed: EngineSpeed[];
  accuracy: EngineAccuracy[];
  sample: { sensitive: number; personal: number; ordinary: number };
}

export interface EnginesSettings {
  /** Time per engine and text size, in ms. */
  durationMs: number;
  shortBytes: number;
  largeBytes: number;
}

/** A dependency's version from its package.json (its `exports` do not expose the file). */
function packageVersion(name: string): string {
  try {
    const path = fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

async function enginesUnderTest(): Promise<{ engines: Engine[]; policy: Policy }> {
  const policy = await loadPolicyFile(defaultPolicyPath);
  const conversation = {
    id: randomUUID(),
    title: "bench",
    labels: [],
    members: [{ id: "alice" }, { id: "bob" }],
    externalParticipants: false,
    bindings: [],
    sensitive: false,
  };
  const message = { id: randomUUID(), sender: { id: "alice", roles: [] } };
  const policyEngine: Engine = {
    name: `Watershed default policy (${policy.version})`,
    detect(text) {
      const input: EvaluationInput = { conversation, message: { ...message, text } };
      const result = policy.evaluate(input);
      if (!result.ok) return { flagged: true, sensitive: true };
      return { flagged: result.verdict.detections.length > 0, sensitive: result.verdict.sensitive };
    },
  };
  // enableLearning off: by default it keeps what it learns in .openredaction/ in the working directory.
  const version = packageVersion("openredaction");
  const defaults = new OpenRedaction({ enableLearning: false });
  const noNames = new OpenRedaction({ enableLearning: false, includeNames: false, includeAddresses: false });
  const redaction = (name: string, engine: OpenRedaction): Engine => ({
    name,
    async detect(text) {
      return { flagged: (await engine.detect(text)).detections.length > 0 };
    },
  });
  return {
    policy,
    engines: [
      policyEngine,
      redaction(`openredaction ${version}, defaults`, defaults),
      redaction(`openredaction ${version}, names and addresses off`, noNames),
      redactPii(),
    ],
  };
}

/**
 * redact-pii with its built-in patterns only (its Google Cloud DLP mode needs the network). It
 * answers the text with each finding replaced by its type, so a text is flagged when that differs.
 * Installed without running protobufjs's `postinstall` (held back by npm here), which only prints
 * a warning about version schemes: nothing redact-pii uses.
 */
function redactPii(): Engine {
  const redactor = new SyncRedactor();
  return {
    name: `redact-pii ${packageVersion("redact-pii")}, built-in patterns`,
    detect: (text) => ({ flagged: redactor.redact(text) !== text }),
  };
}

/** Runs the engine over the texts round-robin for about `durationMs`, after one warm-up pass. */
async function timeEngine(engine: Engine, texts: readonly string[], durationMs: number) {
  for (const text of texts.slice(0, 4)) await engine.detect(text);
  let evaluations = 0;
  const start = performance.now();
  let elapsed = 0;
  let batch = 1;
  while (elapsed < durationMs) {
    const before = performance.now();
    for (let i = 0; i < batch; i++) {
      const finding = engine.detect(texts[evaluations % texts.length] as string);
      if (finding instanceof Promise) await finding;
      evaluations += 1;
    }
    const now = performance.now();
    // Batches grow while short, so the clock is read rarely for fast engines.
    if (now - before < 10) batch *= 2;
    elapsed = now - start;
  }
  return { evaluations, seconds: elapsed / 1000 };
}

const countKinds = (items: readonly LabelledText[]) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => (n > 1 ? `${kind} × ${n}` : kind));
};

async function accuracyOf(engine: Engine, sample: readonly LabelledText[]): Promise<EngineAccuracy> {
  const findings: Array<{ item: LabelledText; finding: Finding }> = [];
  for (const item of sample) findings.push({ item, finding: await engine.detect(item.text) });
  const flagged = findings.filter((f) => f.finding.flagged);
  const isPositive = (item: LabelledText) => item.label !== SampleLabel.ordinary;
  const missed = findings.filter((f) => !f.finding.flagged && isPositive(f.item)).map((f) => f.item);
  const falses = flagged.filter((f) => !isPositive(f.item)).map((f) => f.item);
  const accuracy: EngineAccuracy = {
    engine: engine.name,
    flagged: flagged.length,
    truePositives: flagged.length - falses.length,
    falsePositives: falses.length,
    missed: missed.length,
    missedKinds: countKinds(missed),
    falseKinds: countKinds(falses),
  };
  if (findings.some((f) => f.finding.sensitive !== undefined)) {
    const sensitive = findings.filter((f) => f.finding.sensitive === true);
    const labelled = (f: { item: LabelledText }) => f.item.label === SampleLabel.sensitive;
    accuracy.sensitive = {
      flagged: sensitive.length,
      truePositives: sensitive.filter(labelled).length,
      falsePositives: sensitive.filter((f) => !labelled(f)).length,
      missed: findings.filter((f) => labelled(f) && f.finding.sensitive !== true).length,
    };
  }
  return accuracy;
}

export async function benchEngines(settings: EnginesSettings): Promise<EnginesResult> {
  const { engines } = await enginesUnderTest();
  const sizes = [
    { text: "short chat message", bytes: settings.shortBytes },
    { text: "large text", bytes: settings.largeBytes },
  ];
  const speed: EngineSpeed[] = [];
  for (const size of sizes) {
    // The same 64 texts for every engine.
    const texts = Array.from({ length: 64 }, () => chatText(size.bytes));
    for (const engine of engines) {
      const { evaluations, seconds } = await timeEngine(engine, texts, settings.durationMs);
      speed.push({
        engine: engine.name,
        text: size.text,
        textBytes: size.bytes,
        evaluations,
        seconds,
        msgsPerSecond: evaluations / seconds,
        mbPerSecond: (evaluations * size.bytes) / MiB / seconds,
      });
    }
  }
  const sample = labelledSample();
  const accuracy: EngineAccuracy[] = [];
  for (const engine of engines) accuracy.push(await accuracyOf(engine, sample));
  return {
    engines: engines.map((e) => e.name),
    speed,
    accuracy,
    sample: {
      sensitive: sample.filter((s) => s.label === SampleLabel.sensitive).length,
      personal: sample.filter((s) => s.label === SampleLabel.personal).length,
      ordinary: sample.filter((s) => s.label === SampleLabel.ordinary).length,
    },
  };
}
