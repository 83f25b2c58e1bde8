// Which connector call relays a message of each kind, and what it needs from the id mapping.
import { Capability, type Connector } from "../../connectors/index.ts";
import type { Message } from "../../policies/model.ts";

export interface Addressing {
  /** The bound channel ("" for a connector that takes unbound conversations). */
  channel: string;
  /** The cloud id of the message replied to, when it is in this cloud. */
  threadOf: string | null;
  /** The cloud id of the message an edit, delete or reaction applies to. */
  target: string | null;
}

export type Operation =
  | { kind: "skip"; why: string }
  /** An edit, delete or reaction whose target has no cloud id for this connector. */
  | { kind: "missing-target" }
  | {
      kind: "call";
      channel: string;
      /** Runs the call and returns the id to keep in the mapping. */
      run(maybeSent: boolean): Promise<string>;
    };

const skip = (why: string): Operation => ({ kind: "skip", why });

export function operationFor(connector: Connector, message: Message, at: Addressing): Operation {
  const { channel } = at;
  if (message.kind === "message") {
    const threadOf = connector.capabilities.has(Capability.threads) ? at.threadOf : null;
    return {
      kind: "call",
      channel,
      run: async (maybeSent) => (await connector.send({ message, channel, threadOf, maybeSent })).externalId,
    };
  }
  // An edit, delete or reaction of a message that never reached this cloud has nothing to act on.
  const target = at.target;
  if (target === null && connector.sendsUnbound !== true) return { kind: "missing-target" };
  const targetId = target ?? "";
  if (message.kind === "edit") {
    if (!connector.edit || !connector.capabilities.has(Capability.edits)) return skip("no edits");
    const edit = connector.edit.bind(connector);
    return {
      kind: "call",
      channel,
      run: async (maybeSent) => {
        await edit({ message, channel, target: targetId, maybeSent });
        return targetId;
      },
    };
  }
  if (message.kind === "delete") {
    if (!connector.delete || !connector.capabilities.has(Capability.deletes)) return skip("no deletes");
    const remove = connector.delete.bind(connector);
    return {
      kind: "call",
      channel,
      run: async (maybeSent) => {
        await remove({ message, channel, target: targetId, reason: "author", maybeSent });
        return targetId;
      },
    };
  }
  if (!connector.react || !connector.capabilities.has(Capability.reactions)) return skip("no reactions");
  const react = connector.react.bind(connector);
  return {
    kind: "call",
    channel,
    run: async (maybeSent) => {
      await react({ message, channel, target: targetId, maybeSent });
      return targetId;
    },
  };
}
