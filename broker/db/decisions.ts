// SQL for routing decisions: one per message, written before the message is acknowledged.
import type pg from "pg";
import type { Conversation, Detection, RoutingDecision } from "../../policies/model.ts";
import { toConversation, type ConversationRow } from "./conversations.ts";

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

/**
 * What deciding a message needs, in one round trip: the decision already recorded for it (a
 * redelivery) and its conversation. Either may be missing.
 */
export async function selectDecisionContext(
  db: Queryable,
  conversationId: string,
  messageId: string,
): Promise<{ recorded: RoutingDecision | null; conversation: Conversation | null }> {
  const { rows } = await db.query<{ conversation: ConversationRow | null; decision: DecisionRow | null }>(
    `SELECT to_jsonb(c) AS conversation, to_jsonb(d) AS decision
     FROM (SELECT 1) AS one
       LEFT JOIN conversations c ON c.id = $1::uuid
       LEFT JOIN routing_decisions d ON d.message_id = $2::uuid`,
    [conversationId, messageId],
  );
  const row = rows[0];
  return {
    recorded: row?.decision ? toDecision(row.decision) : null,
    conversation: row?.conversation ? toConversation(row.conversation) : null,
  };
}

/**
 * Records the decision and, when `stickyReason` is given, makes the conversation sensitive — in
 * one statement, so both commit together or not at all. Returns false when a decision for the
 * message was already recorded (then nothing changed).
 */
export async function recordDecision(
  db: Queryable,
  decision: RoutingDecision,
  stickyReason: string | null,
): Promise<boolean> {
  const { rows } = await db.query<{ inserted: string }>(
    `WITH inserted AS (
       INSERT INTO routing_decisions (id, message_id, conversation_id, zone, sensitive, policy_version, rules,
         reason, detections, actions, decided_at)
       VALUES ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::boolean, $6::text, $7::text[], $8::text, $9::jsonb,
         $10::text[], $11::timestamptz)
       ON CONFLICT (message_id) DO NOTHING
       RETURNING id
     ), sticky AS (
       UPDATE conversations SET sensitive = true, sensitive_since = now(), sensitive_reason = $12::text,
         sensitive_decision_id = $1::uuid, updated_at = now()
       WHERE id = $3::uuid AND NOT sensitive AND $12::text IS NOT NULL AND EXISTS (SELECT 1 FROM inserted)
       RETURNING id
     )
     SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM sticky) AS sticky`,
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
      stickyReason,
    ],
  );
  return Number(rows[0]?.inserted ?? 0) === 1;
}
