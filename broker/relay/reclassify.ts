// A conversation turned sensitive: its cloud channels get one notice that it continues on-prem,
// and when the deciding policy asked to retract, what the conversation has in the cloud (relayed
// messages and ones written there) is deleted first.
import type { JsMsg } from "@nats-io/jetstream";
import { Capability, type Connector } from "../../connectors/index.ts";
import { insertNotice, markRetracted, selectNotice, selectRetractable } from "../db/external-ids.ts";
import { selectBindings } from "../db/relay-state.ts";
import type { ReclassifiedEnvelope } from "../nats/envelope.ts";
import { attempt } from "./attempt.ts";
import type { RelayContext } from "./context.ts";

type Reclassified = ReclassifiedEnvelope["reclassified"];

export async function handleReclassified(
  relay: RelayContext,
  reclassified: Reclassified,
  msg: JsMsg,
  stopping: AbortSignal,
): Promise<"done" | "retry"> {
  const bindings = await selectBindings(relay.pool, reclassified.conversationId);
  for (const connector of relay.connectors) {
    const binding = bindings.find((b) => b.connector === connector.kind);
    if (!binding) continue;
    const at = { channel: binding.channel, msg, stopping };
    if (reclassified.retract && (await retract(relay, connector, reclassified, at)) === "retry")
      return "retry";
    if ((await postNotice(relay, connector, reclassified, at)) === "retry") return "retry";
  }
  return "done";
}

interface At {
  channel: string;
  msg: JsMsg;
  stopping: AbortSignal;
}

async function retract(
  relay: RelayContext,
  connector: Connector,
  reclassified: Reclassified,
  at: At,
): Promise<"done" | "retry"> {
  const remove = connector.delete?.bind(connector);
  if (!remove || !connector.capabilities.has(Capability.deletes)) {
    relay.log.warn({ connector: connector.kind }, "cannot retract: the connector has no deletes");
    return "done";
  }
  const items = await selectRetractable(relay.pool, reclassified.conversationId, connector.kind);
  for (const item of items) {
    const outcome = await attempt(
      relay,
      connector,
      { ...at, key: `retract:${item.messageId}:${connector.kind}` },
      (maybeSent) => remove({ channel: at.channel, target: item.externalId, reason: "retract", maybeSent }),
    );
    if (outcome.kind === "retry") return "retry";
    if (outcome.kind === "failed") {
      // Nothing to dead-letter (it is a deletion); the row stays unretracted and the log says why.
      relay.log.error(
        { connector: connector.kind, messageId: item.messageId, reason: outcome.reason },
        "retraction failed",
      );
      continue;
    }
    await markRetracted(relay.pool, item.messageId, connector.kind);
  }
  relay.log.info(
    { connector: connector.kind, conversationId: reclassified.conversationId, messages: items.length },
    "conversation retracted from the cloud",
  );
  return "done";
}

async function postNotice(
  relay: RelayContext,
  connector: Connector,
  reclassified: Reclassified,
  at: At,
): Promise<"done" | "retry"> {
  const notice = connector.notice?.bind(connector);
  if (!notice || !connector.capabilities.has(Capability.notices)) return "done";
  if ((await selectNotice(relay.pool, reclassified.cause, connector.kind)) !== null) return "done";
  const outcome = await attempt(
    relay,
    connector,
    { ...at, key: `notice:${reclassified.cause}:${connector.kind}` },
    async (maybeSent) =>
      (await notice({ channel: at.channel, text: relay.sensitiveNotice, key: reclassified.cause, maybeSent }))
        .externalId,
  );
  if (outcome.kind === "retry") return "retry";
  if (outcome.kind === "failed") {
    relay.log.error({ connector: connector.kind, reason: outcome.reason }, "sensitive notice not posted");
    return "done";
  }
  await insertNotice(relay.pool, {
    cause: reclassified.cause,
    connector: connector.kind,
    conversationId: reclassified.conversationId,
    externalId: outcome.value,
  });
  return "done";
}
