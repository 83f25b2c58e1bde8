// The per-partition hash chain over routing decisions (invariant 5: tamper-evident decisions).
import { createHash } from "node:crypto";
import type pg from "pg";
import type { RoutingDecision } from "../../policies/model.ts";
import { canonical, genesisHash } from "./canonical.ts";

type Queryable = pg.Pool | pg.PoolClient;

export interface ChainLink {
  partition: number;
  seq: number;
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export function linkHash(
  prevHash: string,
  partition: number,
  seq: number,
  decision: RoutingDecision,
): string {
  const body = canonical([
    partition,
    seq,
    decision.id,
    decision.messageId,
    decision.conversationId,
    decision.zone,
    decision.sensitive,
    decision.policyVersion,
    decision.rules,
    decision.reason,
    decision.detections,
    decision.actions,
    decision.decidedAt,
  ]);
  return createHash("sha256").update(prevHash).update(body).digest("hex");
}

/**
 * The last link of each partition asked for; a partition with no decision yet is absent. One
 * backward step on the (chain_partition, chain_seq) index per partition: DISTINCT ON over
 * `= ANY(...)` read and sorted every decision of the partitions, for every batch routed.
 */
export async function selectChainHeads(
  db: Queryable,
  partitions: readonly number[],
): Promise<Map<number, ChainHead>> {
  const { rows } = await db.query<{ chain_partition: number; chain_seq: string; hash: string }>(
    `SELECT p.chain_partition, h.chain_seq, h.hash
     FROM unnest($1::int[]) AS p(chain_partition)
       CROSS JOIN LATERAL (
         SELECT chain_seq, hash FROM routing_decisions d
         WHERE d.chain_partition = p.chain_partition
         ORDER BY d.chain_seq DESC LIMIT 1
       ) h`,
    [partitions],
  );
  return new Map(rows.map((row) => [row.chain_partition, { seq: Number(row.chain_seq), hash: row.hash }]));
}

/** Links the decisions of one batch onto their partitions' chains, in batch order. */
export function linkBatch(
  heads: Map<number, ChainHead>,
  decisions: ReadonlyArray<{ decision: RoutingDecision; partition: number }>,
): ChainLink[] {
  return decisions.map(({ decision, partition }) => {
    const head = heads.get(partition) ?? { seq: 0, hash: genesisHash };
    const seq = head.seq + 1;
    const hash = linkHash(head.hash, partition, seq, decision);
    heads.set(partition, { seq, hash });
    return { partition, seq, prevHash: head.hash, hash };
  });
}

export type DecisionChainCheck =
  | { ok: true; decisions: number }
  | { ok: false; decisions: number; brokenAt: { partition: number; seq: number } };

/** Recomputes every chain; the first link whose content or predecessor does not match breaks it. */
export async function verifyDecisionChains(db: Queryable): Promise<DecisionChainCheck> {
  const { rows } = await db.query<{
    chain_partition: number;
    chain_seq: string;
    prev_hash: string;
    hash: string;
    decision: Record<string, unknown>;
  }>(
    `SELECT chain_partition, chain_seq, prev_hash, hash,
       jsonb_build_object('id', id, 'message_id', message_id, 'conversation_id', conversation_id, 'zone', zone,
         'sensitive', sensitive, 'policy_version', policy_version, 'rules', rules, 'reason', reason,
         'detections', detections, 'actions', actions, 'decided_at', decided_at) AS decision
     FROM routing_decisions WHERE chain_partition IS NOT NULL ORDER BY chain_partition, chain_seq`,
  );
  let partition = -1;
  let expected = { seq: 0, hash: genesisHash };
  for (const row of rows) {
    if (row.chain_partition !== partition) {
      partition = row.chain_partition;
      expected = { seq: 0, hash: genesisHash };
    }
    const seq = Number(row.chain_seq);
    const d = row.decision;
    const decision = {
      id: d.id,
      messageId: d.message_id,
      conversationId: d.conversation_id,
      zone: d.zone,
      sensitive: d.sensitive,
      policyVersion: d.policy_version,
      rules: d.rules,
      reason: d.reason,
      detections: d.detections,
      actions: d.actions,
      decidedAt: new Date(d.decided_at as string).toISOString(),
    } as RoutingDecision;
    if (
      seq !== expected.seq + 1 ||
      row.prev_hash !== expected.hash ||
      linkHash(row.prev_hash, partition, seq, decision) !== row.hash
    ) {
      return { ok: false, decisions: rows.length, brokenAt: { partition, seq } };
    }
    expected = { seq, hash: row.hash };
  }
  return { ok: true, decisions: rows.length };
}
