// Security-admin actions on policies and conversations. Each commits its audit row in the same
// transaction as the change, so no change happens without its record.
import type pg from "pg";
import type { Policy } from "../../policies/index.ts";
import { appendAudit } from "../db/audit.ts";
import { inTransaction } from "../db/pool.ts";
import { insertPolicyVersion, selectPolicyVersion, type PolicyVersionRow } from "../db/policies.ts";
import { contentHash, PolicyKey, type PolicyPointer, type PolicyRuntime } from "./runtime.ts";

export class PolicyVersionConflictError extends Error {
  override name = "PolicyVersionConflictError";
}

export class PolicyNotFoundError extends Error {
  override name = "PolicyNotFoundError";
}

export interface AdminDeps {
  pool: pg.Pool;
  runtime: PolicyRuntime;
}

function pointerOf(row: PolicyVersionRow): PolicyPointer {
  return { revision: row.revision, version: row.version, contentHash: row.contentHash };
}

/** Stores a validated policy and points `key` (active or shadow) at it. */
export async function publishPolicy(
  deps: AdminDeps,
  input: { content: string; policy: Policy; actor: string; comment: string; key: PolicyKey },
): Promise<PolicyPointer> {
  const hash = contentHash(input.content);
  const stored = await inTransaction(deps.pool, async (client) => {
    const { stored, created } = await insertPolicyVersion(client, {
      version: input.policy.version,
      content: input.content,
      contentHash: hash,
      createdBy: input.actor,
      comment: input.comment,
    });
    if (!created && stored.contentHash !== hash) {
      throw new PolicyVersionConflictError(
        `version '${input.policy.version}' is already stored with other content; give the new policy a new version`,
      );
    }
    await appendAudit(client, {
      actor: input.actor,
      action: input.key === PolicyKey.active ? "policy.activate" : "policy.shadow",
      subject: `policy:${stored.version}`,
      details: { revision: stored.revision, contentHash: hash, comment: input.comment },
    });
    return stored;
  });
  const pointer = pointerOf(stored);
  await deps.runtime.kv.put(input.key, JSON.stringify(pointer));
  return pointer;
}

/** Points the active key back at a stored version: the one named, or the one active before. */
export async function rollbackPolicy(
  deps: AdminDeps,
  input: { version: string | null; actor: string; comment: string },
): Promise<PolicyPointer> {
  const current = deps.runtime.pointer(PolicyKey.active);
  let target: PolicyVersionRow | null;
  if (input.version !== null) {
    target = await selectPolicyVersion(deps.pool, { version: input.version });
  } else {
    target = null;
    // The KV history holds earlier pointers, newest last.
    const history = await deps.runtime.kv.history({ key: PolicyKey.active });
    const pointers: PolicyPointer[] = [];
    for await (const entry of history)
      if (entry.operation === "PUT") pointers.push(entry.json() as PolicyPointer);
    const previous = pointers.reverse().find((p) => p.revision !== current?.revision);
    if (previous) target = await selectPolicyVersion(deps.pool, { revision: previous.revision });
  }
  if (!target) {
    throw new PolicyNotFoundError(
      input.version === null ? "there is no earlier active version" : `no stored version '${input.version}'`,
    );
  }
  const stored = target;
  await inTransaction(deps.pool, (client) =>
    appendAudit(client, {
      actor: input.actor,
      action: "policy.rollback",
      subject: `policy:${stored.version}`,
      details: { revision: stored.revision, from: current?.version ?? null, comment: input.comment },
    }),
  );
  const pointer = pointerOf(stored);
  await deps.runtime.kv.put(PolicyKey.active, JSON.stringify(pointer));
  return pointer;
}

export async function clearShadow(deps: AdminDeps, actor: string): Promise<void> {
  const current = deps.runtime.pointer(PolicyKey.shadow);
  await inTransaction(deps.pool, (client) =>
    appendAudit(client, {
      actor,
      action: "policy.shadow-off",
      subject: `policy:${current?.version ?? "none"}`,
      details: {},
    }),
  );
  await deps.runtime.kv.delete(PolicyKey.shadow);
}
