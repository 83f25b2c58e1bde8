-- Policy versions: every version ever stored, with who stored it and its content hash.
CREATE TABLE policy_versions (
  revision bigserial PRIMARY KEY,
  -- The policy file's own `version`; decisions record it.
  version text NOT NULL UNIQUE,
  content text NOT NULL,
  content_hash text NOT NULL,
  created_by text NOT NULL,
  comment text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Where a shadow policy decided differently from the active one. Nothing acts on these rows.
CREATE TABLE shadow_differences (
  message_id uuid PRIMARY KEY,
  conversation_id uuid NOT NULL,
  active_version text NOT NULL,
  shadow_version text NOT NULL,
  active_zone text NOT NULL,
  shadow_zone text NOT NULL,
  active_rules text[] NOT NULL,
  shadow_rules text[] NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shadow_differences_version ON shadow_differences (shadow_version, recorded_at);

-- Security-relevant actions (policy activations, rollbacks, declassifications), hash-chained:
-- each row's hash covers its content and the previous row's hash, so an edit or a deletion
-- anywhere breaks the chain from there on.
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  details jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Routing decisions are a record: once written, never changed or removed.
CREATE TRIGGER routing_decisions_append_only BEFORE UPDATE OR DELETE ON routing_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- TRUNCATE fires no row trigger: refuse it separately, so the log cannot be emptied silently.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
