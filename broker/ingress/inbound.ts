// Events from a cloud IM: each verified event becomes a canonical message in the bound
// conversation and goes through the same INGRESS, router and policy as one posted on-prem.
import type { Connector, InboundEvent } from "../../connectors/index.ts";
import type { MessageKind } from "../../policies/model.ts";
import { selectBoundConversation } from "../db/bindings.ts";
import { isClaimedBy } from "../db/client-ids.ts";
import { insertExternalId, isRetracted, selectMessageIdByExternalId } from "../db/external-ids.ts";
import { ProblemError, ProblemType } from "../http/problems.ts";
import type { Logger } from "../telemetry/log.ts";
import { acceptMessage, type IngressDeps } from "./accept.ts";

export type InboundOutcome = { kind: "accepted"; messageId: string } | { kind: "ignored"; why: string };

/**
 * Accepts one event. The event id is the idempotency key: a cloud's retry of the same delivery
 * gets the same message id, and JetStream's duplicate window drops the second publish.
 */
export async function acceptInboundEvent(
  deps: IngressDeps & { log: Logger },
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
    },
    {
      inbound: {
        // The mapping comes first: it tells the relay this cloud has the message already.
        beforePublish: async (message) => {
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
