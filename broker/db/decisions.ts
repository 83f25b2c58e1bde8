// SQL for routing decisions: one per message, written before the message is acknowledged.
import type pg from "pg";
import type { Conversation, Detection, RoutingDecision } from "../../policies/model.ts";
import { toConversation, type ConversationRow } from "./conversations.ts";
import type { ChainLink } from "./decision-chain.ts";

type Queryable = pg.Pool | pg.PoolClient;

interface DecisionRow {
  id: string;
  message_id: string;
  conversation_id: string;
  zone: "onprem" | "cloud";
  sensitive: boolean;
  policy_version: string;
  rules: string[];
  reason: string | null;
  detections: Detection[];
  actions: RoutingDecision["actions"];
  decided_at: Date | string;
}

export function toDecision(row: DecisionRow): RoutingDecision {
  return {
    id: row.id,
    messageId: row.message_id,
    conversationId: row.conversation_id,
    zone: row.zone,
    sensitive: row.sensitive,
    policyVersion: row.policy_version,
    rules: row.rules,
    reason: row.reason,
    detections: row.detections,
    actions: row.actions,
    decidedAt: new Date(row.decided_at).toISOString(),
  };
}

export const decisionColumns =
  "id, message_id, conversation_id, zone, sensitive, policy_version, rules, reason, detections, actions, decided_at";
export type { DecisionRow };

export async function selectDecision(db: Queryable, messageId: string): Promise<RoutingDecision | null> {
  const { rows } = await db.query<DecisionRow>(
    `SELECT ${decisionColumns} FROM routing_decisions WHERE message_id = $1::uuid`,
    [messageId],
  );
  return rows[0] ? toDecision(rows[0]) : null;
}

export interface DecisionContext {
  recorded: RoutingDecision | null;
  conversation: Conversation | null;
}

/**
 * What deciding messages needs, in one round trip: for each (message, conversation), the decision
 * already recorded for the message (a redelivery) and the conversation. Either may be missing.
 * The answer is in the order asked.
 */
export async function selectDecisionContexts(
  db: Queryable,
  items: ReadonlyArray<{ messageId: string; conversationId: string }>,
): Promise<DecisionContext[]> {
  const { rows } = await db.query<{
    ord: string;
    conversation: ConversationRow | null;
    decision: DecisionRow | null;
  }>(
    `SELECT t.ord, to_jsonb(c) AS conversation, to_jsonb(d) AS decision
     FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(message_id, conversation_id, ord)
       LEFT JOIN conversations c ON c.id = t.conversation_id
       LEFT JOIN routing_decisions d ON d.message_id = t.message_id
     ORDER BY t.ord`,
    [items.map((i) => i.messageId), items.map((i) => i.conversationId)],
  );
  return rows.map((row) => ({
    recorded: row.decision ? toDecision(row.decision) : null,
    conversation: row.conversation ? toConversation(row.conversation) : null,
  }));
}

export interface NewDecision {
  decision: RoutingDecision;
  /** Set when the decision makes its conversation sensitive for good. */
  stickyReason: string | null;
}

export interface ChainedDecision extends NewDecision {
  link: ChainLink;
}

/**
 * Records the decisions and the sticky flags they set, in one statement, so each decision and
 * its flag commit together or not at all. Returns the message ids recorded now, each with whether
 * its decision set the sticky flag (false when a concurrent change had set it already); one
 * missing was recorded before (then nothing of it changed).
 */
export async function recordDecisions(
  db: Queryable,
  batch: readonly ChainedDecision[],
): Promise<Map<string, { turned: boolean }>> {
  const { rows } = await db.query<{ message_id: string; turned: boolean }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::boolean[], $6::text[],
         $7::jsonb[], $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::text[], $13::int[],
         $14::bigint[], $15::text[], $16::text[])
         AS t(id, message_id, conversation_id, zone, sensitive, policy_version, rules, reason, detections,
           actions, decided_at, sticky_reason, chain_partition, chain_seq, prev_hash, hash)
     ), inserted AS (
       INSERT INTO routing_decisions (id, message_id, conversation_id, zone, sensitive, policy_version, rules,
         reason, detections, actions, decided_at, chain_partition, chain_seq, prev_hash, hash)
       SELECT id, message_id, conversation_id, zone, sensitive, policy_version,
         ARRAY(SELECT jsonb_array_elements_text(rules)), reason, detections,
         ARRAY(SELECT jsonb_array_elements_text(actions)), decided_at, chain_partition, chain_seq, prev_hash, hash
       FROM input
       ON CONFLICT (message_id) DO NOTHING
       RETURNING message_id
     ), sticky AS (
       UPDATE conversations c SET sensitive = true, sensitive_since = now(), sensitive_reason = i.sticky_reason,
         sensitive_decision_id = i.id, updated_at = now()
       FROM input i
       WHERE c.id = i.conversation_id AND i.sticky_reason IS NOT NULL AND NOT c.sensitive
         AND i.message_id IN (SELECT message_id FROM inserted)
       RETURNING c.id
     )
     SELECT ins.message_id,
       EXISTS (SELECT 1 FROM sticky s JOIN input i ON i.conversation_id = s.id
               WHERE i.message_id = ins.message_id) AS turned
     FROM inserted ins`,
    [
      batch.map((b) => b.decision.id),
      batch.map((b) => b.decision.messageId),
      batch.map((b) => b.decision.conversationId),
      batch.map((b) => b.decision.zone),
      batch.map((b) => b.decision.sensitive),
      batch.map((b) => b.decision.policyVersion),
      batch.map((b) => JSON.stringify(b.decision.rules)),
      batch.map((b) => b.decision.reason),
      batch.map((b) => JSON.stringify(b.decision.detections)),
      batch.map((b) => JSON.stringify(b.decision.actions)),
      batch.map((b) => b.decision.decidedAt),
      batch.map((b) => b.stickyReason),
      batch.map((b) => b.link.partition),
      batch.map((b) => b.link.seq),
      batch.map((b) => b.link.prevHash),
      batch.map((b) => b.link.hash),
    ],
  );
  return new Map(rows.map((row) => [row.message_id, { turned: row.turned }]));
}
