// The policies in force in this process. The active and shadow versions are named in a NATS KV
// bucket and their content is in PostgreSQL; every instance watches the bucket and swaps the
// compiled policy as soon as the key changes, without a restart.
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type pg from "pg";
import { compilePolicy, formatProblem, parsePolicy, type Policy } from "../../policies/index.ts";
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

/** Parses and compiles stored or uploaded policy text; throws with located problems. */
export function compileText(content: string, source: string): Policy {
  const parsed = parsePolicy(content, source);
  if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join("\n"));
  return compilePolicy(parsed.document);
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
  if ((await kv.get(PolicyKey.active))?.operation !== "PUT") await seed(deps, kv);

  const loaded: Record<PolicyKey, { pointer: PolicyPointer; policy: Policy } | null> = {
    active: null,
    shadow: null,
  };
  const load = async (key: PolicyKey, pointer: PolicyPointer | null): Promise<void> => {
    if (pointer === null) {
      loaded[key] = null;
      log.info({ key }, "policy cleared");
      return;
    }
    const stored = await selectPolicyVersion(pool, { revision: pointer.revision });
    if (!stored) throw new Error(`policy revision ${pointer.revision} is not stored`);
    loaded[key] = { pointer, policy: compileText(stored.content, `policy ${stored.version}`) };
    log.info({ key, version: stored.version, revision: stored.revision }, "policy in force");
  };

  const watcher = await kv.watch();
  let initialised!: () => void;
  const ready = new Promise<void>((resolve) => (initialised = resolve));
  const watching = (async () => {
    for await (const entry of watcher) {
      const key = entry.key as PolicyKey;
      if (key !== PolicyKey.active && key !== PolicyKey.shadow) continue;
      const pointer = entry.operation === "PUT" ? (entry.json() as PolicyPointer) : null;
      // Keep the policy in force until the new one loads; retry while PostgreSQL is away.
      for (let attempt = 1; ; attempt++) {
        try {
          await load(key, pointer);
          break;
        } catch (error) {
          log.error({ err: error, key, attempt }, "could not load policy; keeping the one in force");
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
        }
      }
      if (loaded.active) initialised();
    }
  })();
  await ready;

  return {
    active: () => (loaded.active as { policy: Policy }).policy,
    shadow: () => loaded.shadow?.policy ?? null,
    pointer: (key) => loaded[key]?.pointer ?? null,
    kv,
    async close() {
      watcher.stop();
      await watching.catch(() => {});
    },
  };
}

/** First start: store the seed file as a version and make it active, unless another instance did. */
async function seed(deps: RuntimeDeps, kv: KV): Promise<void> {
  const content = await readFile(deps.seedFile, "utf8");
  const policy = compileText(content, deps.seedFile);
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
  try {
    await kv.create(PolicyKey.active, JSON.stringify(pointer));
    deps.log.info({ version: stored.version }, "policy seeded");
  } catch (error) {
    // Another instance seeded first: its pointer stands.
    if (!/wrong last sequence|exists/i.test(String((error as Error).message))) throw error;
  }
}
