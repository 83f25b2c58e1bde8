// Routing decisions. Every partition has one message in flight; the decider gathers what the
// partitions hand it into batches, so a batch of messages costs two round trips and one commit:
// read the recorded decisions (redeliveries) and the conversations, evaluate, then record the
// decisions and sticky flags in one statement.
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type {
  EvaluationInput,
  EvaluationResult,
  FileInput,
  MessageInput,
  Policy,
  Verdict,
} from "../../policies/index.ts";
import type { Conversation, Message, RoutingDecision } from "../../policies/model.ts";
import { linkBatch, selectChainHeads, type ChainLink } from "../db/decision-chain.ts";
import { selectFilesForPolicy, type FileRecord } from "../db/files.ts";
import {
  recordDecisions,
  selectDecision,
  selectDecisionContexts,
  type NewDecision,
} from "../db/decisions.ts";
import { partitionOf } from "../nats/topology.ts";

/** Every failure inside classification ends here: on-prem, with the reason recorded. */
function failClosed(policyVersion: string, rule: string, reason: string): Verdict {
  return {
    sensitive: true,
    policyVersion,
    rules: [rule],
    reason,
    detections: [],
    actions: { notify: false, redact: false, block: false, retract: false },
  };
}

/** The Policy contract says evaluate never throws; this holds even if an implementation does. */
export function evaluateSafely(policy: Policy, input: EvaluationInput): EvaluationResult {
  try {
    return policy.evaluate(input);
  } catch (error) {
    return { ok: false, error: { code: "evaluation-failed", message: String(error), ruleId: null } };
  }
}

/**
 * The verdict, or an on-prem one when evaluation failed (`failed`): the broker, the CLI and the
 * replay share this, and only a verdict that did not fail may make a conversation sticky.
 */
export function verdictOrFailClosed(
  policy: Policy,
  input: EvaluationInput,
): { verdict: Verdict; failed: boolean } {
  const result = evaluateSafely(policy, input);
  return result.ok
    ? { verdict: result.verdict, failed: false }
    : {
        verdict: failClosed(policy.version, "fail-closed:evaluation-error", "Classification failed."),
        failed: true,
      };
}

/** What the policy sees; `sensitive` overrides the stored flag (replay tracks its own). */
export function evaluationInput(
  conversation: Conversation,
  message: MessageInput,
  sensitive = conversation.sensitivity.sensitive,
): EvaluationInput {
  return {
    conversation: {
      id: conversation.id,
      title: conversation.title,
      labels: conversation.labels,
      members: conversation.members,
      externalParticipants: conversation.externalParticipants,
      bindings: conversation.bindings,
      sensitive,
    },
    message: {
      id: message.id,
      sender: message.sender,
      text: message.text,
      ...(message.files === undefined ? {} : { files: message.files }),
    },
  };
}

/**
 * What the policy sees of an attached file: its text only when inspection read it whole. A file
 * that is missing (never stored) is uninspectable, which the policy keeps on-prem.
 */
export function fileInputOf(id: string, file: (FileRecord & { text: string | null }) | undefined): FileInput {
  if (!file)
    return { id, name: "(missing file)", mediaType: "application/octet-stream", size: 0, text: null };
  return {
    id,
    name: file.name,
    mediaType: file.mediaType,
    size: file.size,
    // The name goes to the cloud with the file, so the detectors read it with the text.
    text: file.inspectable && file.text !== null ? `${file.name}\n${file.text}` : null,
  };
}

export interface Decided {
  decision: RoutingDecision;
  /** What the policy saw; null when a recorded decision was reused. */
  input: EvaluationInput | null;
  /**
   * This decision is the one that made its conversation sensitive: the relay must tell the
   * cloud channel (and retract, when asked). Also true when a recorded decision is reused, so a
   * crash between recording and publishing loses nothing.
   */
  turnedSensitive: boolean;
}

/** A decision not recorded yet: whether it turns its conversation is known only once recorded. */
type FreshDecision = Omit<Decided, "turnedSensitive"> & NewDecision;

/** The decision for one message, before it is recorded. */
function decideOne(
  policy: Policy,
  message: Message,
  conversation: Conversation | null,
  files: readonly FileInput[],
): FreshDecision {
  let verdict: Verdict;
  let input: EvaluationInput | null = null;
  let sticky = false;
  if (!conversation) {
    verdict = failClosed(policy.version, "fail-closed:unknown-conversation", "Unknown conversation.");
  } else {
    input = evaluationInput(conversation, files.length === 0 ? message : { ...message, files });
    const outcome = verdictOrFailClosed(policy, input);
    verdict = outcome.verdict;
    // A failed evaluation keeps this message on-prem but does not mark the conversation for good.
    sticky = !outcome.failed && verdict.sensitive && !conversation.sensitivity.sensitive;
  }
  const decision: RoutingDecision = {
    id: uuidv7(),
    messageId: message.id,
    conversationId: message.conversationId,
    zone: verdict.sensitive ? "onprem" : "cloud",
    sensitive: verdict.sensitive,
    policyVersion: verdict.policyVersion,
    rules: verdict.rules,
    reason: verdict.reason,
    detections: verdict.detections,
    actions: (Object.keys(verdict.actions) as Array<keyof Verdict["actions"]>).filter(
      (a) => verdict.actions[a],
    ),
    decidedAt: new Date().toISOString(),
  };
  return {
    decision,
    input,
    stickyReason: sticky ? (verdict.reason ?? verdict.rules.join(", ")) : null,
  };
}

export interface Decider {
  decide(message: Message): Promise<Decided>;
}

interface Pending {
  message: Message;
  resolve: (decided: Decided) => void;
  reject: (error: unknown) => void;
}

/**
 * Decides messages in batches: while one batch is in PostgreSQL, the next fills. No lock is
 * needed because one partition decides one message at a time, every conversation belongs to one
 * partition, and only its router ever sets the conversation's sticky flag. A batch never holds
 * two messages of one conversation (a later one waits for the next batch), so even a
 * misconfigured partition count cannot decide a message before the one accepted ahead of it.
 */
export function createDecider(
  pool: pg.Pool,
  policy: () => Policy,
  partitions: number,
  maxBatch = 128,
): Decider {
  let queue: Pending[] = [];
  let running = false;

  const takeBatch = (): Pending[] => {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const conversations = new Set<string>();
    for (const pending of queue) {
      if (batch.length < maxBatch && !conversations.has(pending.message.conversationId)) {
        conversations.add(pending.message.conversationId);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    queue = rest;
    return batch;
  };

  const run = async (batch: Pending[]) => {
    const active = policy();
    const partitionOfMessage = (message: Message) => partitionOf(message.conversationId, partitions);
    const [contexts, heads, attached] = await Promise.all([
      selectDecisionContexts(
        pool,
        batch.map((p) => ({ messageId: p.message.id, conversationId: p.message.conversationId })),
      ),
      selectChainHeads(pool, [...new Set(batch.map((p) => partitionOfMessage(p.message)))]),
      selectFilesForPolicy(pool, [...new Set(batch.flatMap((p) => p.message.attachments))]),
    ]);
    const fresh: Array<{ pending: Pending; decided: FreshDecision }> = [];
    for (const [index, pending] of batch.entries()) {
      const context = contexts[index] as (typeof contexts)[number];
      if (context.recorded) {
        const turnedSensitive = context.conversation?.sensitivity.decisionId === context.recorded.id;
        pending.resolve({ decision: context.recorded, input: null, turnedSensitive });
      } else {
        const files = pending.message.attachments.map((id) => fileInputOf(id, attached.get(id)));
        fresh.push({ pending, decided: decideOne(active, pending.message, context.conversation, files) });
      }
    }
    if (fresh.length === 0) return;
    // Each decision links onto its partition's chain (invariant 5: decisions are tamper-evident).
    const links = linkBatch(
      heads,
      fresh.map((f) => ({ decision: f.decided.decision, partition: partitionOfMessage(f.pending.message) })),
    );
    const inserted = await recordDecisions(
      pool,
      fresh.map((f, index) => ({ ...f.decided, link: links[index] as ChainLink })),
    );
    for (const { pending, decided } of fresh) {
      const recorded = inserted.get(decided.decision.messageId);
      if (recorded) {
        pending.resolve({
          decision: decided.decision,
          input: decided.input,
          // What the statement did, not what was read before it: a label set by a PATCH that
          // committed meanwhile turned the conversation, and that change posts its own notice.
          turnedSensitive: recorded.turned,
        });
        continue;
      }
      // Recorded meanwhile by an earlier delivery whose acknowledgement was lost: that one stands.
      const existing = await selectDecision(pool, pending.message.id);
      // Another delivery recorded it and published what followed from it.
      if (existing) pending.resolve({ decision: existing, input: null, turnedSensitive: false });
      else pending.reject(new Error(`decision for ${pending.message.id} neither recorded nor found`));
    }
  };

  const schedule = () => {
    if (running || queue.length === 0) return;
    running = true;
    const batch = takeBatch();
    run(batch)
      .catch((error: unknown) => {
        for (const pending of batch) pending.reject(error);
      })
      .finally(() => {
        running = false;
        schedule();
      });
  };

  return {
    decide(message) {
      return new Promise<Decided>((resolve, reject) => {
        queue.push({ message, resolve, reject });
        schedule();
      });
    },
  };
}
