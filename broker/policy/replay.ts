// Re-evaluates stored history with a candidate policy and reports what would change zone.
// Read-only: nothing is written, and the stored decisions stay as they are.
import type pg from "pg";
import type { Policy } from "../../policies/index.ts";
import type { Conversation } from "../../policies/model.ts";
import { selectConversation } from "../db/conversations.ts";
import { evaluationInput, verdictOrFailClosed } from "../router/decide.ts";

export interface ReplayChange {
  messageId: string;
  conversationId: string;
  from: "onprem" | "cloud";
  to: "onprem" | "cloud";
  /** The candidate's rules when it keeps a message on-prem; the stored rules when it releases one. */
  rules: string[];
}

export interface ReplayReport {
  candidateVersion: string;
  since: string | null;
  messages: number;
  conversations: number;
  changed: number;
  byChange: Record<string, number>;
  byRule: Record<string, number>;
  /** Conversations with at least one change, most changes first (at most 100). */
  changedConversations: Array<{ conversationId: string; title: string; changed: number }>;
  /** The first changes found (at most 100), to look at. */
  examples: ReplayChange[];
}

interface HistoryRow {
  id: string;
  conversation_id: string;
  ingress_seq: string;
  sender_id: string;
  sender_attributes: { roles?: string[]; groups?: string[]; department?: string | null };
  body: string;
  zone: "onprem" | "cloud" | null;
  rules: string[] | null;
}

const pageSize = 1000;

export async function countHistory(pool: pg.Pool, since: Date | null): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM messages WHERE $1::timestamptz IS NULL OR accepted_at >= $1::timestamptz",
    [since],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function replayHistory(
  pool: pg.Pool,
  candidate: Policy,
  options: { since: Date | null; onProgress?: (done: number) => void },
): Promise<ReplayReport> {
  const report: ReplayReport = {
    candidateVersion: candidate.version,
    since: options.since?.toISOString() ?? null,
    messages: 0,
    conversations: 0,
    changed: 0,
    byChange: {},
    byRule: {},
    changedConversations: [],
    examples: [],
  };
  const perConversation = new Map<string, { title: string; changed: number }>();
  let cursor: { conversationId: string; seq: string } = {
    conversationId: "00000000-0000-0000-0000-000000000000",
    seq: "0",
  };
  let current: { conversation: Conversation | null; sticky: boolean } | null = null;
  let currentId = "";
  for (;;) {
    // Keyset pagination in (conversation, acceptance order): constant memory on any history size.
    const { rows } = await pool.query<HistoryRow>(
      `SELECT m.id, m.conversation_id, m.ingress_seq, m.sender_id, m.sender_attributes, m.body, d.zone, d.rules
       FROM messages m LEFT JOIN routing_decisions d ON d.message_id = m.id
       WHERE ($1::timestamptz IS NULL OR m.accepted_at >= $1::timestamptz)
         AND (m.conversation_id, m.ingress_seq) > ($2::uuid, $3::bigint)
       ORDER BY m.conversation_id, m.ingress_seq
       LIMIT $4::int`,
      [options.since, cursor.conversationId, cursor.seq, pageSize],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row.conversation_id !== currentId) {
        currentId = row.conversation_id;
        current = {
          conversation: await selectConversation(pool, currentId),
          sticky: await sensitiveBefore(pool, currentId, options.since),
        };
        report.conversations++;
      }
      const state = current as { conversation: Conversation | null; sticky: boolean };
      report.messages++;
      const conversation = state.conversation;
      const outcome = conversation
        ? verdictOrFailClosed(
            candidate,
            evaluationInput(
              conversation,
              {
                id: row.id,
                sender: {
                  id: row.sender_id,
                  roles: row.sender_attributes.roles ?? [],
                  groups: row.sender_attributes.groups ?? [],
                  department: row.sender_attributes.department ?? null,
                },
                text: row.body,
              },
              state.sticky,
            ),
          )
        : null;
      const verdict = outcome?.verdict ?? null;
      const to = verdict === null || verdict.sensitive ? "onprem" : "cloud";
      if (verdict?.sensitive && !outcome?.failed) state.sticky = true;
      const from = row.zone ?? "onprem";
      if (from !== to) {
        const rules =
          to === "onprem" ? (verdict?.rules ?? ["fail-closed:unknown-conversation"]) : (row.rules ?? []);
        report.changed++;
        report.byChange[`${from}->${to}`] = (report.byChange[`${from}->${to}`] ?? 0) + 1;
        for (const rule of rules) report.byRule[rule] = (report.byRule[rule] ?? 0) + 1;
        const entry = perConversation.get(currentId) ?? { title: conversation?.title ?? "", changed: 0 };
        entry.changed++;
        perConversation.set(currentId, entry);
        if (report.examples.length < 100) {
          report.examples.push({ messageId: row.id, conversationId: currentId, from, to, rules });
        }
      }
    }
    const last = rows[rows.length - 1] as HistoryRow;
    cursor = { conversationId: last.conversation_id, seq: last.ingress_seq };
    options.onProgress?.(report.messages);
  }
  report.changedConversations = [...perConversation]
    .map(([conversationId, { title, changed }]) => ({ conversationId, title, changed }))
    .sort((a, b) => b.changed - a.changed)
    .slice(0, 100);
  return report;
}

/** Whether the conversation was already sensitive when the replay window opens. */
async function sensitiveBefore(pool: pg.Pool, conversationId: string, since: Date | null): Promise<boolean> {
  if (since === null) return false;
  const { rows } = await pool.query<{ sensitive: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM routing_decisions d JOIN messages m ON m.id = d.message_id
       WHERE m.conversation_id = $1::uuid AND m.accepted_at < $2::timestamptz AND d.sensitive
     ) AS sensitive`,
    [conversationId, since],
  );
  return rows[0]?.sensitive ?? false;
}
