-- Routing decisions are hash-chained per partition: each row's hash covers its content and the
-- previous decision of its partition. One partition decides one message at a time across all
-- broker processes, so each chain grows in one line; the unique key makes a fork fail instead.
ALTER TABLE routing_decisions
  ADD COLUMN chain_partition int,
  ADD COLUMN chain_seq bigint,
  ADD COLUMN prev_hash text,
  ADD COLUMN hash text,
  ADD CONSTRAINT routing_decisions_chain UNIQUE (chain_partition, chain_seq);
