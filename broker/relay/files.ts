// Relaying a message that shares files: each file is uploaded through the connector's file API,
// the message's text going with the first, and each upload is recorded before the next starts, so
// a retry uploads only what is missing. The message's cloud id is the first upload's.
import { Capability, type Connector } from "../../connectors/index.ts";
import type { Message } from "../../policies/model.ts";
import { isSensitive } from "../db/conversations.ts";
import { insertFileExternalId, selectFiles, selectUploadedFiles } from "../db/files.ts";
import { objectBytes } from "../files/bytes.ts";
import type { Delivery } from "../nats/pull.ts";
import { attempt, type AttemptOutcome } from "./attempt.ts";
import type { RelayContext } from "./context.ts";

export interface FileRelayAt {
  channel: string;
  threadOf: string | null;
  msg: Delivery;
  stopping: AbortSignal;
}

/** Whether this connector takes this message's files; the caller sends text only otherwise. */
export function relaysFiles(connector: Connector, message: Message): boolean {
  return (
    message.attachments.length > 0 &&
    connector.uploadFile !== undefined &&
    connector.capabilities.has(Capability.files)
  );
}

/**
 * Uploads the message's files. Returns the message's cloud id (`ok`), `retry` after a nak, or
 * `failed` with the reason for a dead letter.
 */
export async function relayFiles(
  relay: RelayContext,
  connector: Connector,
  message: Message,
  at: FileRelayAt,
): Promise<AttemptOutcome<string> | { kind: "withheld" }> {
  const upload = connector.uploadFile?.bind(connector);
  const store = relay.store;
  if (!upload) return { kind: "failed", reason: `${connector.kind} cannot upload files`, attempts: 0 };
  const files = await selectFiles(relay.pool, message.attachments);
  let first: string | null = null;
  for (const [index, fileId] of message.attachments.entries()) {
    // Read again for every file: a retry after a crash, or a conversation that turned meanwhile.
    const uploaded = await selectUploadedFiles(relay.pool, message.id, connector.kind);
    if (uploaded.has(fileId)) {
      first ??= uploaded.get(fileId) ?? null;
      continue;
    }
    if (await isSensitive(relay.pool, message.conversationId)) {
      // What is in the cloud already is recorded (a retraction can reach it); nothing more goes.
      return first === null ? { kind: "withheld" } : { kind: "ok", value: first };
    }
    const file = files.get(fileId);
    if (!file) return { kind: "failed", reason: `attachment ${fileId} is not stored`, attempts: 0 };
    const outcome = await attempt(
      relay,
      connector,
      {
        key: `${message.id}:${fileId}:${connector.kind}`,
        channel: at.channel,
        msg: at.msg,
        stopping: at.stopping,
      },
      (maybeSent) =>
        upload({
          channel: at.channel,
          maybeSent,
          fileId,
          filename: file.name,
          title: file.name,
          size: file.size,
          contentType: file.mediaType,
          open: () => objectBytes(store, fileId),
          threadOf: at.threadOf,
          // The text goes with the first file, as one cloud message; the others follow it.
          comment: index === 0 && message.text !== "" ? message.text : null,
        }),
    );
    if (outcome.kind !== "ok") return outcome;
    await insertFileExternalId(relay.pool, {
      fileId,
      messageId: message.id,
      connector: connector.kind,
      externalId: outcome.value.cloudFileId ?? outcome.value.externalId,
      shareExternalId: outcome.value.externalId,
      conversationId: message.conversationId,
      origin: "relayed",
    });
    first ??= outcome.value.externalId;
  }
  return first === null
    ? { kind: "failed", reason: "a message with attachments but none uploaded", attempts: 0 }
    : { kind: "ok", value: first };
}
