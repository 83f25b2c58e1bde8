// A canonical message as intake would build it, for tests that start after intake (the relay, the
// connectors, the database): every field set, each test overriding only what it is about.
import { randomUUID } from "node:crypto";
import { uuidv7 } from "uuidv7";
import type { Message } from "../../policies/model.ts";

export function testMessage(fields: Partial<Message> = {}): Message {
  return {
    id: uuidv7(),
    conversationId: randomUUID(),
    sender: { id: "alice", roles: [], groups: [], department: null },
    kind: "message",
    text: "hello",
    replyTo: null,
    targetId: null,
    attachments: [],
    clientMsgId: null,
    acceptedAt: new Date().toISOString(),
    ...fields,
  };
}
