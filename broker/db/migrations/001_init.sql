-- Conversations with their sticky sensitivity state.
CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  title text NOT NULL,
  labels text[] NOT NULL DEFAULT '{}',
  members text[] NOT NULL DEFAULT '{}',
  external_participants boolean NOT NULL DEFAULT false,
  bindings jsonb NOT NULL DEFAULT '[]',
  sensitive boolean NOT NULL DEFAULT false,
  sensitive_since timestamptz,
  sensitive_reason text,
  sensitive_decision_id uuid,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (sensitive = (sensitive_since IS NOT NULL))
);
CREATE INDEX conversations_members ON conversations USING gin (members);

-- Every accepted message, whatever its zone: PostgreSQL is the system of record.
-- No foreign key to conversations: one bad row must never block a whole batch of the store.
CREATE TABLE messages (
  id uuid PRIMARY KEY,
  conversation_id uuid NOT NULL,
  -- INGRESS stream sequence: the order in which messages were accepted.
  ingress_seq bigint NOT NULL,
  sender_id text NOT NULL,
  -- Roles, groups and department from the sender's token when the message was accepted.
  sender_attributes jsonb NOT NULL DEFAULT '{}',
  kind text NOT NULL CHECK (kind IN ('message', 'edit', 'delete', 'reaction')),
  body text NOT NULL,
  reply_to uuid,
  target_id uuid,
  attachments uuid[] NOT NULL DEFAULT '{}',
  client_msg_id text,
  accepted_at timestamptz NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_history ON messages (conversation_id, ingress_seq);

-- One decision per message; written by the router before the message is acknowledged.
CREATE TABLE routing_decisions (
  id uuid PRIMARY KEY,
  message_id uuid NOT NULL UNIQUE,
  -- No foreign key: a message of an unknown conversation is still decided (on-prem) and recorded.
  conversation_id uuid NOT NULL,
  zone text NOT NULL CHECK (zone IN ('onprem', 'cloud')),
  sensitive boolean NOT NULL,
  policy_version text NOT NULL,
  rules text[] NOT NULL,
  reason text,
  -- Type, offsets and confidence only; never the matched text.
  detections jsonb NOT NULL DEFAULT '[]',
  -- Actions the deciding rules asked for: notify, redact, block.
  actions text[] NOT NULL DEFAULT '{}',
  decided_at timestamptz NOT NULL DEFAULT now()
);

-- Client-supplied idempotency keys: the same clientMsgId gives the same message id.
CREATE TABLE client_message_ids (
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  sender_id text NOT NULL,
  client_msg_id text NOT NULL,
  message_id uuid NOT NULL,
  -- SHA-256 of what was sent, so a reused key with a different message is refused.
  request_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, sender_id, client_msg_id)
);

-- Our message ids and the cloud's, both ways.
CREATE TABLE external_ids (
  message_id uuid NOT NULL,
  connector text NOT NULL,
  external_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, connector)
);
-- Not unique: a cloud's ids are unique per channel, and a receiver may answer the same id twice.
CREATE INDEX external_ids_reverse ON external_ids (connector, external_id);
