// A conversation whose own attributes (labels, title, members, …) make it sensitive turns
// sensitive the moment it is created or changed, not at its next message. Otherwise a message
// accepted under a sensitive label could be routed after the label was removed, and a message
// routed to the cloud just before a label was added could still be relayed.
import type pg from "pg";
import type { Policy } from "../../policies/index.ts";
import type { Conversation } from "../../policies/model.ts";
import { markSensitiveByAttributes, selectConversation } from "../db/conversations.ts";
import { evaluationInput, verdictOrFailClosed } from "../router/decide.ts";

export interface AppliedRules {
  conversation: Conversation;
  /** Set when these attributes just turned the conversation sensitive; `retract` as the policy asked. */
  turned: { retract: boolean } | null;
}

/** Evaluates the policy on the conversation alone (an empty message from nobody in particular). */
export async function applyConversationRules(
  client: pg.PoolClient,
  policy: Policy,
  conversation: Conversation,
): Promise<AppliedRules> {
  const unchanged = { conversation, turned: null };
  if (conversation.sensitivity.sensitive) return unchanged;
  const probe = {
    id: "00000000-0000-7000-8000-000000000000",
    conversationId: conversation.id,
    sender: { id: "(conversation)", roles: [], groups: [], department: null },
    kind: "message" as const,
    text: "",
    replyTo: null,
    targetId: null,
    attachments: [],
    clientMsgId: null,
    acceptedAt: new Date().toISOString(),
  };
  const { verdict, failed } = verdictOrFailClosed(policy, evaluationInput(conversation, probe));
  // A failed evaluation is not a finding about the conversation; its messages fail closed anyway.
  if (failed || !verdict.sensitive) return unchanged;
  await markSensitiveByAttributes(client, conversation.id, verdict.reason ?? verdict.rules.join(", "));
  return {
    conversation: (await selectConversation(client, conversation.id)) as Conversation,
    turned: { retract: verdict.actions.retract },
  };
}
