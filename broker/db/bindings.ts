// SQL for channel bindings: which cloud channel mirrors which conversation, one conversation per channel.
import type pg from "pg";
import type { Binding, Conversation } from "../../policies/model.ts";
import { selectConversation } from "./conversations.ts";

type Queryable = pg.Pool | pg.PoolClient;

export class ChannelAlreadyBoundError extends Error {
  override name = "ChannelAlreadyBoundError";
  constructor(readonly binding: Binding) {
    super(
      `channel '${binding.channel}' of connector '${binding.connector}' is bound to another conversation`,
    );
  }
}

/**
 * Replaces a conversation's bindings, in the caller's transaction; the denormalised copy in
 * `conversations.bindings` (what the policy and the relay read) changes with it.
 */
export async function replaceBindings(
  client: pg.PoolClient,
  conversationId: string,
  bindings: readonly Binding[],
): Promise<Conversation | null> {
  await client.query(`DELETE FROM channel_bindings WHERE conversation_id = $1::uuid`, [conversationId]);
  for (const binding of bindings) {
    const { rowCount } = await client.query(
      `INSERT INTO channel_bindings (connector, channel, conversation_id)
       VALUES ($1::text, $2::text, $3::uuid) ON CONFLICT DO NOTHING`,
      [binding.connector, binding.channel, conversationId],
    );
    if (rowCount === 0) throw new ChannelAlreadyBoundError(binding);
  }
  const { rowCount } = await client.query(
    `UPDATE conversations SET bindings = $2::jsonb, updated_at = now() WHERE id = $1::uuid`,
    [conversationId, JSON.stringify(bindings)],
  );
  return rowCount === 0 ? null : selectConversation(client, conversationId);
}

/** The conversation a cloud channel is bound to, if any. */
export async function selectBoundConversation(
  db: Queryable,
  connector: string,
  channel: string,
): Promise<string | null> {
  const { rows } = await db.query<{ conversation_id: string }>(
    `SELECT conversation_id FROM channel_bindings WHERE connector = $1::text AND channel = $2::text`,
    [connector, channel],
  );
  return rows[0]?.conversation_id ?? null;
}
