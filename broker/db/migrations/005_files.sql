-- Files uploaded on-prem (or downloaded from a cloud) and what inspection found. The bytes are in
-- the object store under `id`; a row exists only once every byte is stored.
CREATE TABLE files (
  id uuid PRIMARY KEY,
  conversation_id uuid NOT NULL REFERENCES conversations (id),
  uploaded_by text NOT NULL,
  name text NOT NULL,
  -- What the client said the type was; never used for decisions.
  declared_type text,
  -- What the bytes are.
  media_type text NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  store text NOT NULL CHECK (store IN ('nats', 's3')),
  inspectable boolean NOT NULL,
  inspection_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Identical content in one conversation is stored once.
  UNIQUE (conversation_id, sha256)
);

-- The text inspection extracted, for the policy; apart so listing files stays light.
CREATE TABLE file_texts (
  file_id uuid PRIMARY KEY REFERENCES files (id),
  text text NOT NULL
);

-- A file in a cloud: uploaded there by the relay with a message, or shared there and brought in.
CREATE TABLE file_external_ids (
  file_id uuid NOT NULL REFERENCES files (id),
  message_id uuid NOT NULL,
  connector text NOT NULL,
  -- The cloud's id of the file (Slack: F0123ABCD), what a retraction deletes.
  external_id text NOT NULL,
  -- The cloud's id of the message that shares it (Slack: channel:ts), when known.
  share_external_id text,
  conversation_id uuid NOT NULL,
  origin text NOT NULL CHECK (origin IN ('relayed', 'inbound')),
  retract_started_at timestamptz,
  retracted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, file_id, connector)
);
CREATE INDEX file_external_ids_conversation ON file_external_ids (conversation_id);
