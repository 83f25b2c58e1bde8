// The policies in force in this process. The active and shadow versions are named in a NATS KV
// bucket and their content is in PostgreSQL; every instance watches the bucket and swaps the
// compiled policy as soon as the key changes, without a restart.
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type pg from "pg";
import { compilePolicyText, type Policy } from "../../policies/index.ts";
import { insertPolicyVersion, selectPolicyVersion } from "../db/policies.ts";
import type { Logger } from "../telemetry/log.ts";

export const PolicyKey = { active: "active", shadow: "shadow" } as const;
export type PolicyKey = (typeof PolicyKey)[keyof typeof PolicyKey];

/** What a KV entry holds: which stored version is in force. */
export interface PolicyPointer {
  revision: number;
  version: string;
  contentHash: string;
}

export interface PolicyRuntime {
  /** The active policy; read per message on the hot path. */
  active(): Policy;
  /** The shadow candidate, if one is set. */
  shadow(): Policy | null;
  pointer(key: PolicyKey): PolicyPointer | null;
  kv: KV;
  close(): Promise<void>;
}

export function contentHash(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

export function policyBucket(prefix: string): string {
  return `${prefix.toUpperCase()}_POLICY`;
}

export interface RuntimeDeps {
  pool: pg.Pool;
  js: JetStreamClient;
  prefix: string;
  replicas: number;
  /** The policy file that seeds the first version when none is active yet. */
  seedFile: string;
  log: Logger;
}

export async function startPolicyRuntime(deps: RuntimeDeps): Promise<PolicyRuntime> {
  const { pool, log } = deps;
  const kv = await new Kvm(deps.js).create(policyBucket(deps.prefix), {
    history: 20,
    replicas: deps.replicas,
  });
  const active = await activePointerState(deps, kv);
  if (active !== "stored") await seed(deps, kv, active === "stale");

  const loaded: Record<PolicyKey, { pointer: PolicyPointer; policy: Policy } | null> = {
    active: null,
    shadow: null,
  };
  // The newest pointer seen per key; a load that finishes after a newer one arrived is dropped.
  const wanted: Partial<Record<PolicyKey, PolicyPointer | null>> = {};
  let lastError: unknown = null;
  let initialised!: () => void;
  const ready = new Promise<void>((resolve) => (initialised = resolve));
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const reconcile = async (key: PolicyKey, pointer: PolicyPointer | null, attempt = 1): Promise<void> => {
    try {
      let next: { pointer: PolicyPointer; policy: Policy } | null = null;
      if (pointer !== null) {
        const stored = await selectPolicyVersion(pool, { revision: pointer.revision });
        if (!stored) throw new Error(`policy revision ${pointer.revision} is not stored`);
        next = { pointer, policy: compilePolicyText(stored.content, `policy ${stored.version}`) };
      }
      if (wanted[key] !== pointer) return;
      loaded[key] = next;
      log.info({ key, version: pointer?.version ?? null }, pointer ? "policy in force" : "policy cleared");
      if (loaded.active) initialised();
    } catch (error) {
      lastError = error;
      // Keep the policy in force and retry while PostgreSQL is away; a newer pointer supersedes.
      log.error({ err: error, key, attempt }, "could not load policy; keeping the one in force");
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (wanted[key] === pointer) void reconcile(key, pointer, attempt + 1);
        },
        Math.min(5000, 250 * attempt),
      );
      timers.add(timer);
    }
  };

  const watcher = await kv.watch();
  const watching = (async () => {
    for await (const entry of watcher) {
      const key = entry.key as PolicyKey;
      if (key !== PolicyKey.active && key !== PolicyKey.shadow) continue;
      const pointer = entry.operation === "PUT" ? (entry.json() as PolicyPointer) : null;
      wanted[key] = pointer;
      void reconcile(key, pointer);
    }
  })();
  const stop = async () => {
    watcher.stop();
    for (const timer of timers) clearTimeout(timer);
    await watching.catch(() => {});
  };
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">(
    (resolve) => (startTimer = setTimeout(() => resolve("timeout"), startTimeoutMs)),
  );
  const started = await Promise.race([ready.then(() => "ready" as const), timedOut]);
  clearTimeout(startTimer);
  if (started === "timeout") {
    await stop();
    throw new Error(
      `no active policy could be loaded within ${startTimeoutMs / 1000} s: ${String(lastError)}`,
    );
  }

  return {
    active: () => (loaded.active as { policy: Policy }).policy,
    shadow: () => loaded.shadow?.policy ?? null,
    pointer: (key) => loaded[key]?.pointer ?? null,
    kv,
    close: stop,
  };
}

/** How long start-up waits for the active policy before giving up with the reason. */
const startTimeoutMs = 30_000;

/**
 * Whether the active pointer names a version PostgreSQL holds. It does not after the database
 * was recreated under a NATS that kept its bucket: then the seed file starts over.
 */
async function activePointerState(deps: RuntimeDeps, kv: KV): Promise<"missing" | "stale" | "stored"> {
  const entry = await kv.get(PolicyKey.active);
  if (entry?.operation !== "PUT") return "missing";
  const pointer = entry.json() as PolicyPointer;
  const stored = await selectPolicyVersion(deps.pool, { revision: pointer.revision });
  if (stored?.contentHash === pointer.contentHash) return "stored";
  deps.log.warn(
    { revision: pointer.revision },
    "the active policy is not in this database; seeding it again",
  );
  return "stale";
}

/** First start: store the seed file as a version and make it active, unless another instance did. */
async function seed(deps: RuntimeDeps, kv: KV, replaceStale: boolean): Promise<void> {
  const content = await readFile(deps.seedFile, "utf8");
  const policy = compilePolicyText(content, deps.seedFile);
  const { stored } = await insertPolicyVersion(deps.pool, {
    version: policy.version,
    content,
    contentHash: contentHash(content),
    createdBy: "system:seed",
    comment: `seeded from ${deps.seedFile}`,
  });
  const pointer: PolicyPointer = {
    revision: stored.revision,
    version: stored.version,
    contentHash: stored.contentHash,
  };
  if (replaceStale) {
    await kv.put(PolicyKey.active, JSON.stringify(pointer));
    deps.log.info({ version: stored.version }, "policy seeded again");
    return;
  }
  try {
    await kv.create(PolicyKey.active, JSON.stringify(pointer));
    deps.log.info({ version: stored.version }, "policy seeded");
  } catch (error) {
    // Another instance seeded first: its pointer stands.
    if (!/wrong last sequence|exists/i.test(String((error as Error).message))) throw error;
  }
}
