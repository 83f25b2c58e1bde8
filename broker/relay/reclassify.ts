// A conversation turned sensitive: its cloud channels get one notice that it continues on-prem,
// and when the deciding policy asked to retract, what the conversation has in the cloud (relayed
// messages and ones written there) is deleted first.
import { Capability, type Connector } from "../../connectors/index.ts";
import {
  insertNotice,
  markRetracted,
  markRetracting,
  selectNotice,
  selectRetractable,
} from "../db/external-ids.ts";
import { markFileRetracted, selectRetractableFiles } from "../db/files.ts";
import { selectBindings } from "../db/relay-state.ts";
import type { ReclassifiedEnvelope } from "../nats/envelope.ts";
import type { Delivery } from "../nats/pull.ts";
import { attempt } from "./attempt.ts";
import type { RelayContext } from "./context.ts";

type Reclassified = ReclassifiedEnvelope["reclassified"];

export async function handleReclassified(
  relay: RelayContext,
  reclassified: Reclassified,
  msg: Delivery,
  stopping: AbortSignal,
): Promise<"done" | "retry"> {
  const bindings = await selectBindings(relay.pool, reclassified.conversationId);
  const channelOf = (kind: string) => bindings.find((b) => b.connector === kind)?.channel ?? "";
  if (
    reclassified.retract &&
    (await retract(relay, reclassified, { channelOf, msg, stopping })) === "retry"
  ) {
    return "retry";
  }
  for (const connector of relay.connectors) {
    const channel = channelOf(connector.kind);
    if (channel === "") continue;
    if ((await postNotice(relay, connector, reclassified, { channel, msg, stopping })) === "retry")
      return "retry";
  }
  return "done";
}

interface At {
  channel: string;
  msg: Delivery;
  stopping: AbortSignal;
}

/**
 * Deletes every message of the conversation that is in a cloud, bound there still or not: the
 * cloud ids say where they are. Rows are marked before each call, so the cloud's delete event
 * that may come back before the call returns is known as ours.
 */
async function retract(
  relay: RelayContext,
  reclassified: Reclassified,
  at: { channelOf: (kind: string) => string; msg: Delivery; stopping: AbortSignal },
): Promise<"done" | "retry"> {
  const items = await selectRetractable(relay.pool, reclassified.conversationId);
  let retracted = 0;
  for (const item of items) {
    const connector = relay.connectors.find((c) => c.kind === item.connector);
    const remove = connector?.delete?.bind(connector);
    if (!connector || !remove || !connector.capabilities.has(Capability.deletes)) {
      relay.log.error(
        { connector: item.connector, messageId: item.messageId },
        "cannot retract: the connector is not configured or cannot delete",
      );
      continue;
    }
    const channel = at.channelOf(connector.kind);
    await markRetracting(relay.pool, item.messageId, connector.kind);
    const outcome = await attempt(
      relay,
      connector,
      { channel, msg: at.msg, stopping: at.stopping, key: `retract:${item.messageId}:${connector.kind}` },
      (maybeSent) => remove({ channel, target: item.externalId, reason: "retract", maybeSent }),
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
    retracted += 1;
  }
  const files = await retractFiles(relay, reclassified, at);
  if (files === "retry") return "retry";
  relay.log.info(
    { conversationId: reclassified.conversationId, retracted, failed: items.length - retracted, files },
    "conversation retracted from the cloud",
  );
  return "done";
}

/** Deletes the conversation's files from the clouds: deleting a message that shares one leaves the file. */
async function retractFiles(
  relay: RelayContext,
  reclassified: Reclassified,
  at: { channelOf: (kind: string) => string; msg: Delivery; stopping: AbortSignal },
): Promise<number | "retry"> {
  let deleted = 0;
  for (const item of await selectRetractableFiles(relay.pool, reclassified.conversationId)) {
    const connector = relay.connectors.find((c) => c.kind === item.connector);
    const deleteFile = connector?.deleteFile?.bind(connector);
    if (!connector || !deleteFile) {
      relay.log.error(
        { connector: item.connector, fileId: item.fileId },
        "cannot retract a file: no file deletes",
      );
      continue;
    }
    await markFileRetracted(relay.pool, item, "started");
    const outcome = await attempt(
      relay,
      connector,
      {
        channel: at.channelOf(connector.kind),
        msg: at.msg,
        stopping: at.stopping,
        key: `retract-file:${item.messageId}:${item.fileId}:${connector.kind}`,
      },
      () => deleteFile(item.externalId),
    );
    if (outcome.kind === "retry") return "retry";
    if (outcome.kind === "failed") {
      relay.log.error(
        { connector: connector.kind, fileId: item.fileId, reason: outcome.reason },
        "file retraction failed",
      );
      continue;
    }
    await markFileRetracted(relay.pool, item, "done");
    deleted += 1;
  }
  return deleted;
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
