// Declassifying a sensitive conversation: never automatic, always by a security admin with a
// written reason, audited in the same transaction.
import type pg from "pg";
import type { Conversation } from "../../policies/model.ts";
import { appendAudit } from "../db/audit.ts";
import { clearSensitive, selectConversation } from "../db/conversations.ts";
import { inTransaction } from "../db/pool.ts";

export class NotSensitiveError extends Error {
  override name = "NotSensitiveError";
}

export class ConversationMissingError extends Error {
  override name = "ConversationMissingError";
}

export async function declassifyConversation(
  pool: pg.Pool,
  input: { conversationId: string; reason: string; actor: string },
): Promise<Conversation> {
  return inTransaction(pool, async (client) => {
    // FOR UPDATE: two declassifications of one conversation do not both succeed. A message decided
    // meanwhile read the flag as set and stays on-prem: the safe side.
    const conversation = await selectConversation(client, input.conversationId, { forUpdate: true });
    if (!conversation) throw new ConversationMissingError();
    if (!conversation.sensitivity.sensitive) throw new NotSensitiveError("the conversation is not sensitive");
    await clearSensitive(client, input.conversationId);
    await appendAudit(client, {
      actor: input.actor,
      action: "conversation.declassify",
      subject: `conversation:${input.conversationId}`,
      details: {
        reason: input.reason,
        sensitiveSince: conversation.sensitivity.since,
        previousReason: conversation.sensitivity.reason,
        decisionId: conversation.sensitivity.decisionId,
      },
    });
    const updated = await selectConversation(client, input.conversationId);
    return updated as Conversation;
  });
}
