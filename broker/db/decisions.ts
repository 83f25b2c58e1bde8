// SQL for routing decisions: one per message, written before the message is acknowledged.
import type pg from "pg";
import type { Detection, RoutingDecision } from "../../policies/model.ts";

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
  decided_at: Date;
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
    decidedAt: row.decided_at.toISOString(),
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

export async function insertDecision(db: Queryable, decision: RoutingDecision): Promise<void> {
  await db.query(
    `INSERT INTO routing_decisions (id, message_id, conversation_id, zone, sensitive, policy_version, rules,
       reason, detections, actions, decided_at)
     VALUES ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::boolean, $6::text, $7::text[], $8::text, $9::jsonb,
       $10::text[], $11::timestamptz)`,
    [
      decision.id,
      decision.messageId,
      decision.conversationId,
      decision.zone,
      decision.sensitive,
      decision.policyVersion,
      decision.rules,
      decision.reason,
      JSON.stringify(decision.detections),
      decision.actions,
      decision.decidedAt,
    ],
  );
}
