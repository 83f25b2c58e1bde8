-- Cloud channels conversations are mirrored in: one conversation per channel and connector, so an
-- inbound event finds its conversation. conversations.bindings stays the copy the policy sees; both
-- are written in one transaction.
CREATE TABLE channel_bindings (
  connector text NOT NULL,
  channel text NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, channel)
);
CREATE INDEX channel_bindings_conversation ON channel_bindings (conversation_id);

-- The id mapping learns which conversation and what kind of operation a row is: a retraction
-- deletes a conversation's cloud messages, and reverse lookups want messages, not their edits.
-- For an edit, delete or reaction, external_id is the cloud id of the message it applied to.
ALTER TABLE external_ids ADD COLUMN conversation_id uuid;
ALTER TABLE external_ids ADD COLUMN kind text NOT NULL DEFAULT 'message'
  CHECK (kind IN ('message', 'edit', 'delete', 'reaction'));
-- A retraction is marked as started before the cloud call, so the cloud's delete event that may
-- arrive before the call returns is known as our own; done once the call returned.
ALTER TABLE external_ids ADD COLUMN retract_started_at timestamptz;
ALTER TABLE external_ids ADD COLUMN retracted_at timestamptz;
UPDATE external_ids e SET conversation_id = m.conversation_id FROM messages m WHERE m.id = e.message_id;
CREATE INDEX external_ids_conversation ON external_ids (conversation_id) WHERE kind = 'message';

-- "This conversation continues on-prem" notices posted, one per turn and connector, so a
-- redelivered reclassification does not post twice.
CREATE TABLE relay_notices (
  cause text NOT NULL,
  connector text NOT NULL,
  conversation_id uuid NOT NULL,
  external_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cause, connector)
);
