// The load of a fault scenario: conversations bound to fake-Slack channels, about 30 % of them
// labelled `finance` (sensitive), and messages posted over HTTP with a clientMsgId, each retried
// until the broker answers 202. "Acknowledged" means exactly that 202; each conversation's
// acknowledged ids are kept in the order their 202s came, which is the order they were sent,
// since a conversation's next message is sent only after its last one was acknowledged.
import type { FakeSlack } from "../fakes/slack/index.ts";

export interface ConversationRecord {
  id: string;
  /** The fake-Slack channel it is bound to. */
  channel: string;
  /** Labelled `finance`: nothing of it may reach the cloud. */
  sensitive: boolean;
  /** Message ids from the 202s, in acknowledgement order. */
  acknowledged: string[];
  /** The texts sent, in the same order, to recognise them in the cloud without ids. */
  texts: string[];
}

export interface WorkloadOptions {
  /** The broker's base URL now; read before every request, since a restarted broker may move. */
  baseUrl: () => string;
  /** A bearer token of a user allowed to create conversations and post. */
  token: string;
  slack: FakeSlack;
}

export interface RunOptions {
  /** Messages to send in all, spread round-robin over the conversations. */
  messages: number;
  /** Upper bound on messages sent per second (all conversations together). @default unlimited */
  ratePerSecond?: number;
  /** How long one request may take before it is abandoned and retried, in ms. @default 15000 */
  requestTimeoutMs?: number;
  /** Wait between two tries of one message, in ms. @default 200 */
  retryDelayMs?: number;
  /** Called after each acknowledgement with the count so far, e.g. to time faults. */
  onAcknowledged?: (count: number) => void;
}

export interface RunResult {
  acknowledged: number;
  /** Requests that did not end in 202 and were tried again. */
  retries: number;
  /** What the failed tries met, counted by kind (HTTP status or error name). */
  failures: Record<string, number>;
  /** From the first request to the last 202, in seconds. */
  sendSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class UnexpectedAnswerError extends Error {
  override name = "UnexpectedAnswerError";
}

/** One request, retried until `accept` says yes; refusals that retrying cannot fix throw. */
async function untilAccepted(
  options: WorkloadOptions,
  request: { method: string; path: string; body: unknown },
  expected: number,
  tuning: { timeoutMs: number; retryDelayMs: number; failures: Record<string, number> },
): Promise<{ body: Record<string, unknown>; tries: number }> {
  for (let tries = 1; ; tries++) {
    let kind: string;
    try {
      const response = await fetch(options.baseUrl() + request.path, {
        method: request.method,
        headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
        body: JSON.stringify(request.body),
        signal: AbortSignal.timeout(tuning.timeoutMs),
      });
      const text = await response.text();
      if (response.status === expected) return { body: JSON.parse(text) as Record<string, unknown>, tries };
      // 5xx (a store or NATS away), 503 backlog-full, 429: later. Anything else is our bug.
      if (response.status < 500 && response.status !== 429 && response.status !== 408) {
        throw new UnexpectedAnswerError(`${request.method} ${request.path}: ${response.status} ${text}`);
      }
      kind = `HTTP ${response.status}`;
    } catch (error) {
      if (error instanceof UnexpectedAnswerError) throw error;
      const cause = (error as { cause?: { code?: string } }).cause;
      kind = cause?.code ?? (error as Error).name;
    }
    tuning.failures[kind] = (tuning.failures[kind] ?? 0) + 1;
    await sleep(tuning.retryDelayMs);
  }
}

/** Creates `count` conversations, about `sensitiveShare` of them (spread evenly) labelled `finance`, each bound to a new channel. */
export async function createConversations(
  options: WorkloadOptions,
  count: number,
  sensitiveShare = 0.3,
): Promise<ConversationRecord[]> {
  const tuning = { timeoutMs: 15_000, retryDelayMs: 200, failures: {} };
  const records: ConversationRecord[] = [];
  for (let i = 0; i < count; i++) {
    // Spread evenly: conversation i is sensitive when it brings the running share up to the target.
    const sensitive = Math.floor((i + 1) * sensitiveShare) > Math.floor(i * sensitiveShare);
    const name = `fault-${i}`;
    const channel = options.slack.createChannel(name);
    const created = await untilAccepted(
      options,
      {
        method: "POST",
        path: "/v1/conversations",
        body: { title: name, labels: sensitive ? ["finance"] : [] },
      },
      201,
      tuning,
    );
    const id = String(created.body.id);
    await untilAccepted(
      options,
      {
        method: "PUT",
        path: `/v1/conversations/${id}/bindings`,
        body: { bindings: [{ connector: "slack", channel }] },
      },
      200,
      tuning,
    );
    records.push({ id, channel, sensitive, acknowledged: [], texts: [] });
  }
  return records;
}

/**
 * Sends `messages` messages: one lane per conversation, each sending its next message once the
 * last one was acknowledged, all lanes at once, paced to `ratePerSecond` when given.
 */
export async function runWorkload(
  options: WorkloadOptions,
  conversations: readonly ConversationRecord[],
  run: RunOptions,
): Promise<RunResult> {
  const tuning = {
    timeoutMs: run.requestTimeoutMs ?? 15_000,
    retryDelayMs: run.retryDelayMs ?? 200,
    failures: {} as Record<string, number>,
  };
  const started = Date.now();
  let acknowledged = 0;
  let retries = 0;
  let nextSlot = 0;
  /** Paces sends: the n-th message may go at `started + n / rate`. */
  const paced = async () => {
    if (!run.ratePerSecond) return;
    const slot = nextSlot++;
    const at = started + (slot * 1000) / run.ratePerSecond;
    const wait = at - Date.now();
    if (wait > 0) await sleep(wait);
  };
  const lane = async (conversation: ConversationRecord, index: number) => {
    const perLane = Math.floor(run.messages / conversations.length);
    const count = perLane + (index < run.messages % conversations.length ? 1 : 0);
    const offset = conversation.acknowledged.length;
    for (let n = offset; n < offset + count; n++) {
      await paced();
      const text = `fault run: conversation ${index}, message ${n}`;
      const answer = await untilAccepted(
        options,
        {
          method: "POST",
          path: `/v1/conversations/${conversation.id}/messages`,
          body: { text, clientMsgId: `c${index}-m${n}` },
        },
        202,
        tuning,
      );
      retries += answer.tries - 1;
      conversation.acknowledged.push(String(answer.body.id));
      conversation.texts.push(text);
      acknowledged += 1;
      run.onAcknowledged?.(acknowledged);
    }
  };
  await Promise.all(conversations.map(lane));
  return {
    acknowledged,
    retries,
    failures: tuning.failures,
    sendSeconds: (Date.now() - started) / 1000,
  };
}
