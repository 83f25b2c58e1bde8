// Events from a cloud IM: each verified event becomes a canonical message in the bound
// conversation and goes through the same INGRESS, router and policy as one posted on-prem.
import { Readable } from "node:stream";
import {
  ConnectorPermanentError,
  type Connector,
  type InboundEvent,
  type InboundFile,
} from "../../connectors/index.ts";
import type { MessageKind } from "../../policies/model.ts";
import { selectBoundConversation } from "../db/bindings.ts";
import { selectConversation } from "../db/conversations.ts";
import { insertFileExternalId } from "../db/files.ts";
import { FileTooLargeError, takeInFile, type FileIntakeDeps } from "../files/intake.ts";
import { isClaimedBy } from "../db/client-ids.ts";
import { insertExternalId, isRetracted, selectMessageIdByExternalId } from "../db/external-ids.ts";
import { ProblemError, ProblemType } from "../http/problems.ts";
import type { Logger } from "../telemetry/log.ts";
import { acceptMessage, type IngressDeps } from "./accept.ts";

export interface InboundDeps extends IngressDeps {
  log: Logger;
  /** Where files shared in the cloud are brought in. */
  files: FileIntakeDeps;
}

/**
 * Downloads each shared file into the on-prem store (inspected like an upload). The cloud's
 * retries of the event bring the same bytes, which the conversation keeps once.
 */
async function bringInFiles(
  deps: InboundDeps,
  connector: Connector,
  at: { conversationId: string; senderId: string },
  shared: readonly InboundFile[],
): Promise<Array<{ fileId: string; cloudFileId: string }>> {
  if (shared.length === 0) return [];
  const download = connector.downloadFile?.bind(connector);
  const conversation = await selectConversation(deps.pool, at.conversationId);
  if (!download || !conversation) {
    deps.log.warn(
      { connector: connector.kind, files: shared.length },
      "shared files not brought in: no download",
    );
    return [];
  }
  const brought: Array<{ fileId: string; cloudFileId: string }> = [];
  for (const file of shared) {
    const incoming = {
      conversation,
      uploadedBy: at.senderId,
      name: storableName(file.name),
      declaredType: null,
      enforceBlock: false,
    };
    let stored;
    try {
      stored = await takeInFile(deps.files, {
        ...incoming,
        declaredSize: file.size,
        body: Readable.from(download(file)),
      });
    } catch (error) {
      if (!isPermanent(error)) throw error; // the cloud delivers the event again
      // Never lose the message over its file: it is kept without the bytes, as uninspectable,
      // which the policy keeps on-prem (and can retract from the cloud).
      deps.log.warn(
        { connector: connector.kind, error: (error as Error).name },
        "shared file not brought in",
      );
      stored = await takeInFile(deps.files, {
        ...incoming,
        declaredSize: 0,
        body: Readable.from([]),
        notBroughtIn: "could not be brought in from the cloud",
      });
    }
    brought.push({ fileId: stored.file.id, cloudFileId: file.id });
  }
  return brought;
}

/** A cloud's file name as PostgreSQL and the API take it: no NUL, at most 255 characters. */
function storableName(name: string): string {
  return name.replaceAll("\u0000", "").slice(0, 255) || "file";
}

/** Failures a retry of the same event cannot mend: a refused download, a file over the limit. */
function isPermanent(error: unknown): boolean {
  return error instanceof ConnectorPermanentError || error instanceof FileTooLargeError;
}

export type InboundOutcome = { kind: "accepted"; messageId: string } | { kind: "ignored"; why: string };

/**
 * Accepts one event. The event id is the idempotency key: a cloud's retry of the same delivery
 * gets the same message id, and JetStream's duplicate window drops the second publish.
 */
export async function acceptInboundEvent(
  deps: InboundDeps,
  connector: Connector,
  identityOf: (user: string) => string | null,
  event: InboundEvent,
): Promise<InboundOutcome> {
  const conversationId = await selectBoundConversation(deps.pool, connector.kind, event.channel);
  if (conversationId === null) return { kind: "ignored", why: "channel not bound" };
  const lookup = (externalId: string | null) =>
    externalId === null
      ? null
      : selectMessageIdByExternalId(deps.pool, connector.kind, externalId, conversationId);
  const clientMsgId = `${connector.kind}:${event.eventId}`.slice(0, 128);
  if (event.kind === "message" && event.externalId !== null) {
    // Our own post coming back is already here; a retry of this same event is not an echo.
    const known = await lookup(event.externalId);
    if (known !== null && !(await isClaimedBy(deps.pool, known, clientMsgId))) {
      return { kind: "ignored", why: "echo of a relayed message" };
    }
  }
  if (
    event.kind === "delete" &&
    event.target !== null &&
    (await isRetracted(deps.pool, connector.kind, event.target))
  ) {
    return { kind: "ignored", why: "echo of a retraction" };
  }
  const [replyTo, targetId] = await Promise.all([lookup(event.threadOf), lookup(event.target)]);
  if (event.kind !== "message" && targetId === null) {
    // The cloud does not promise event order: an edit may come before its message. A 409 makes
    // the cloud deliver it again later; a target that never comes costs the cloud's few retries.
    throw new ProblemError(
      ProblemType.targetNotStored,
      `the ${event.kind}'s target is not known on-prem (yet); deliver it again later`,
    );
  }
  const mappedId = event.kind === "message" ? event.externalId : event.target;
  const senderId = identityOf(event.user) ?? `${connector.kind}:${event.user}`;
  const files = await bringInFiles(deps, connector, { conversationId, senderId }, event.files);
  const accepted = await acceptMessage(
    deps,
    { id: senderId, roles: [], groups: [], department: null },
    conversationId,
    {
      // PostgreSQL cannot store NUL; a cloud lets users send it. Dropping it keeps the rest.
      text: event.text.replaceAll("\u0000", ""),
      kind: event.kind,
      clientMsgId,
      replyTo,
      targetId,
      attachments: files.map((f) => f.fileId),
    },
    {
      inbound: {
        // The mapping comes first: it tells the relay this cloud has the message already.
        beforePublish: async (message) => {
          for (const file of files) {
            await insertFileExternalId(deps.pool, {
              fileId: file.fileId,
              messageId: message.id,
              connector: connector.kind,
              externalId: file.cloudFileId,
              shareExternalId: mappedId,
              conversationId,
              origin: "inbound",
            });
          }
          if (mappedId === null) return;
          await insertExternalId(deps.pool, {
            messageId: message.id,
            conversationId,
            connector: connector.kind,
            externalId: mappedId,
            kind: event.kind as MessageKind,
          });
        },
      },
    },
  );
  return { kind: "accepted", messageId: accepted.id };
}
