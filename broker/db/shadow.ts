// SQL for shadow-mode differences: where a candidate policy would have decided otherwise.
import type pg from "pg";
import type { RoutingDecision } from "../../policies/model.ts";

type Queryable = pg.Pool | pg.PoolClient;

export async function insertShadowDifference(
  db: Queryable,
  active: RoutingDecision,
  shadow: { version: string; zone: string; rules: string[] },
): Promise<void> {
  await db.query(
    `INSERT INTO shadow_differences (message_id, conversation_id, active_version, shadow_version, active_zone,
       shadow_zone, active_rules, shadow_rules)
     VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, $7::text[], $8::text[])
     ON CONFLICT (message_id) DO NOTHING`,
    [
      active.messageId,
      active.conversationId,
      active.policyVersion,
      shadow.version,
      active.zone,
      shadow.zone,
      active.rules,
      shadow.rules,
    ],
  );
}

export interface ShadowSummary {
  shadowVersion: string;
  differences: number;
  /** How many messages would move, by direction ("cloud->onprem" / "onprem->cloud"). */
  byChange: Record<string, number>;
  /** How many differences each shadow rule took part in. */
  byShadowRule: Record<string, number>;
  examples: Array<{
    messageId: string;
    conversationId: string;
    activeZone: string;
    shadowZone: string;
    shadowRules: string[];
  }>;
}

export async function summarizeShadow(db: Queryable, shadowVersion: string): Promise<ShadowSummary> {
  const changes = await db.query<{ change: string; n: string }>(
    `SELECT active_zone || '->' || shadow_zone AS change, count(*) AS n FROM shadow_differences
     WHERE shadow_version = $1::text GROUP BY 1`,
    [shadowVersion],
  );
  const rules = await db.query<{ rule: string; n: string }>(
    `SELECT rule, count(*) AS n FROM shadow_differences, unnest(shadow_rules) AS rule
     WHERE shadow_version = $1::text GROUP BY 1`,
    [shadowVersion],
  );
  const examples = await db.query<{
    message_id: string;
    conversation_id: string;
    active_zone: string;
    shadow_zone: string;
    shadow_rules: string[];
  }>(
    `SELECT message_id, conversation_id, active_zone, shadow_zone, shadow_rules FROM shadow_differences
     WHERE shadow_version = $1::text ORDER BY recorded_at DESC LIMIT 20`,
    [shadowVersion],
  );
  const byChange = Object.fromEntries(changes.rows.map((r) => [r.change, Number(r.n)]));
  return {
    shadowVersion,
    differences: Object.values(byChange).reduce((a, b) => a + b, 0),
    byChange,
    byShadowRule: Object.fromEntries(rules.rows.map((r) => [r.rule, Number(r.n)])),
    examples: examples.rows.map((r) => ({
      messageId: r.message_id,
      conversationId: r.conversation_id,
      activeZone: r.active_zone,
      shadowZone: r.shadow_zone,
      shadowRules: r.shadow_rules,
    })),
  };
}
