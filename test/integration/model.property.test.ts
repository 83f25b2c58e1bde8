// A model test of the relay to Slack: fast-check drives random sequences of operations — create
// conversations, post normal messages and ones with a card or ID number, change labels, edit,
// delete, share clean and sensitive files, restart the broker, make Slack fail — against one
// running broker (real NATS and PostgreSQL, the fake Slack as the cloud), beside a model of what
// Slack should end up holding, and checks the five invariants of DESIGN.md after each run.
// invariants.property.test.ts covers posts and labels through the webhook connector; this one
// covers the Slack connector with edits, deletes, files, restarts and cloud faults.
//
// Reproduce a failure with the seed and path fast-check prints:
//   WATERSHED_MODEL_SEED=<seed> WATERSHED_MODEL_PATH=<path> node --import tsx --test <this file>
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { defaultPolicyPath, loadPolicyFile } from "../../policies/index.ts";
import type { FakeSlackMessage } from "../fakes/slack/index.ts";
import { waitUntil } from "../helpers/api.ts";
import { makeCardCsv, makePng, residentId } from "../helpers/documents.ts";
import { streamMessageCount } from "../helpers/services.ts";
import { startSlackSetup, type SlackSetup } from "../helpers/slack-broker.ts";

const cardNumber = "4111 1111 1111 1111";
const sensitiveLabel = "finance";
/** The metadata event type of the broker's "continues on-prem" notice in Slack. */
const noticeEventType = "watershed_notice";
/** The metadata event type of a relayed message (`event_payload.message_id` names it). */
const messageEventType = "watershed_message";
/** Conversations a run may hold; a `create` beyond this does nothing. */
const maxConversations = 5;
/** How long a run waits for the broker to settle, in ms. */
const drainTimeoutMs = 30_000;

/** What a text holds: nothing a detector finds, or a secret the default policy makes sensitive. */
const TextKind = { normal: "normal", card: "payment-card", residentId: "cn-resident-id" } as const;
type TextKind = (typeof TextKind)[keyof typeof TextKind];
type DetectedType = Exclude<TextKind, "normal">;
const secretOf: Record<DetectedType, string> = { "payment-card": cardNumber, "cn-resident-id": residentId };

/** A clean text file, a CSV of valid card numbers, or an image (uninspectable: kept on-prem). */
const FileKind = { clean: "clean", cards: "cards", image: "image" } as const;
type FileKind = (typeof FileKind)[keyof typeof FileKind];

const CloudFault = {
  /** Every Web API call answers 500 for `ms`. */
  error500: "error500",
  /** Calls take effect but are never answered for `ms`: the broker cannot know the outcome. */
  commitThenTimeout: "commit-then-timeout",
  /** The next few writes answer 429 with Retry-After: 1. */
  rateLimited: "rate-limited",
} as const;
type CloudFault = (typeof CloudFault)[keyof typeof CloudFault];

/** A conversation by index (modulo those that exist), or the one the previous step used. */
type ConversationRef = number | "same";

/**
 * One step of a run. `conversation` and `target` are taken modulo what exists when the step runs,
 * so shrinking keeps every step meaningful. `settle` waits for the broker to be idle first when
 * the step may turn a normal conversation sensitive: with it, everything relayed before is
 * certain; without it, the turn races the relay, which may withhold what it had not sent yet.
 */
type Op =
  | { kind: "create"; finance: boolean }
  | { kind: "post"; conversation: ConversationRef; text: TextKind; settle: boolean }
  | { kind: "label"; conversation: ConversationRef; finance: boolean; settle: boolean }
  | { kind: "edit"; conversation: ConversationRef; target: number; text: TextKind; settle: boolean }
  | { kind: "delete"; conversation: ConversationRef; target: number }
  | { kind: "file"; conversation: ConversationRef; file: FileKind; settle: boolean }
  | { kind: "restart" }
  | { kind: "cloud-fault"; fault: CloudFault; ms: number; count: number };

// Half the steps stay in the conversation of the step before: races need steps close together.
const conversationRef: fc.Arbitrary<ConversationRef> = fc.oneof(
  fc.constant("same" as const),
  fc.nat(maxConversations - 1),
);
/** A secret once in `oneIn` texts: rare enough that conversations relay a while before they turn. */
const textKind = (oneIn: number): fc.Arbitrary<TextKind> =>
  fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(TextKind.normal) },
    { weight: 1, arbitrary: fc.constantFrom(TextKind.card, TextKind.residentId) },
  );
const rarely = fc.oneof(
  { weight: 4, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);

const operation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("create" as const), finance: rarely }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      conversation: conversationRef,
      text: textKind(15),
      settle: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("label" as const),
      conversation: conversationRef,
      finance: fc.boolean(),
      settle: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("edit" as const),
      conversation: conversationRef,
      target: fc.nat(20),
      text: textKind(20),
      settle: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      conversation: conversationRef,
      target: fc.nat(20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("file" as const),
      conversation: conversationRef,
      file: fc.oneof(
        { weight: 5, arbitrary: fc.constant(FileKind.clean) },
        { weight: 1, arbitrary: fc.constantFrom(FileKind.cards, FileKind.image) },
      ),
      settle: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("cloud-fault" as const),
      fault: fc.constantFrom(CloudFault.error500, CloudFault.commitThenTimeout, CloudFault.rateLimited),
      ms: fc.integer({ min: 100, max: 1500 }),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

/** What the relay does in Slack for a message accepted while its conversation was normal. */
type SlackOp =
  | { kind: "post"; messageId: string; text: string; fileName: string | null }
  | { kind: "edit"; targetId: string; text: string }
  | { kind: "delete"; targetId: string };

/** A message as Slack shows it, named by the on-prem message it relays. */
interface SlackEntry {
  messageId: string;
  text: string;
  fileName: string | null;
}

interface AcceptedMessage {
  id: string;
  kind: "message" | "edit" | "delete";
  text: string;
  /** Accepted once the conversation was sensitive, or the message that turned it. */
  onPremOnly: boolean;
  /** The secret in its text, which its decision must report by type and position. */
  detection: DetectedType | null;
  /** The rule that must have decided it: set for the message that turned its conversation. */
  turningRule: string | null;
  /** A sensitive label came before it was decided: the label turned the conversation, `sticky` decided it. */
  overtakenByLabel: boolean;
  /** Its index in the conversation's Slack operations, when accepted while normal. */
  slackOp: number | null;
}

interface ModelConversation {
  id: string;
  channel: string;
  labels: string[];
  sensitive: boolean;
  /** What turned it: at creation (a label), a later label (or maybe), or a message's content. */
  turnedBy: "created" | "label" | "message" | null;
  accepted: AcceptedMessage[];
  slackOps: SlackOp[];
  /** Slack operations accepted before the broker was last seen idle: those were relayed. */
  settled: number;
  /** Fixed when it turns: the Slack operations certainly relayed; the rest may be withheld. */
  certain: number | null;
  /** On-prem messages not deleted: what edits and deletes may name. */
  live: string[];
  /** The message that turned it, until the broker was seen idle: a label may still overtake it. */
  undecidedTurn: AcceptedMessage | null;
  /** Uploaded files by name. */
  files: Map<string, { bytes: Buffer; sensitive: boolean; messageId: string }>;
}

interface Run {
  number: number;
  conversations: ModelConversation[];
  /** The conversation the last step used, by index. */
  current: number;
  /** Ends of cloud outages still going on. */
  faults: Promise<void>[];
  /** What happened, for the failure message. */
  trace: string[];
}

let setup: SlackSetup;
let policyVersion: string;

before(async () => {
  policyVersion = (await loadPolicyFile(defaultPolicyPath)).version;
  // The shipped policy: no retract, so what was relayed before a turn legitimately stays in Slack.
  setup = await startSlackSetup();
});

after(async () => {
  await setup?.close();
});

async function waitIdle(what: string): Promise<void> {
  // INGRESS first: the router publishes to RELAY before it acknowledges INGRESS.
  await waitUntil(
    async () =>
      (await streamMessageCount(setup.prefix, "INGRESS")) === 0 &&
      (await streamMessageCount(setup.prefix, "RELAY")) === 0,
    drainTimeoutMs,
    what,
  );
}

/** Waits for the broker to be idle; everything accepted so far in normal conversations was relayed. */
async function settle(run: Run): Promise<void> {
  await waitIdle("the broker to settle");
  for (const c of run.conversations) {
    if (!c.sensitive) c.settled = c.slackOps.length;
    c.undecidedTurn = null;
  }
}

function turn(c: ModelConversation, by: "label" | "message"): void {
  if (c.sensitive) return;
  c.sensitive = true;
  c.turnedBy = by;
  c.certain = c.settled;
}

async function createConversation(run: Run, finance: boolean): Promise<ModelConversation> {
  const labels = finance ? [sensitiveLabel] : [];
  const index = run.conversations.length;
  const { conversationId, channel } = await setup.boundConversation(`r${run.number}-c${index}`, labels);
  const c: ModelConversation = {
    id: conversationId,
    channel,
    labels,
    sensitive: finance,
    turnedBy: finance ? "created" : null,
    accepted: [],
    slackOps: [],
    settled: 0,
    certain: finance ? 0 : null,
    live: [],
    undecidedTurn: null,
    files: new Map(),
  };
  run.conversations.push(c);
  run.current = index;
  run.trace.push(`create c${index}${finance ? " [finance]" : ""} = ${conversationId}`);
  return c;
}

/** Posts a message; an edit or delete whose target is not stored yet is retried (409). */
async function postMessage(conversationId: string, body: Record<string, unknown>): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await setup.api.request<{ id: string; type?: string }>(
      "POST",
      `/v1/conversations/${conversationId}/messages`,
      body,
    );
    if (response.status === 202) return response.body.id;
    const notStoredYet =
      response.status === 409 && response.body.type?.endsWith(":target-not-stored") === true;
    if (!notStoredYet || Date.now() > deadline) {
      throw new Error(`post: ${response.status} ${JSON.stringify(response.body)}`);
    }
    await sleep(50);
  }
}

async function uploadFile(conversationId: string, name: string, bytes: Buffer): Promise<string> {
  const { api } = setup;
  const response = await fetch(
    `${api.baseUrl}/v1/conversations/${conversationId}/files?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${api.token}`, "content-type": "application/octet-stream" },
      body: bytes,
    },
  );
  const body = (await response.json()) as { id: string };
  // 200: these bytes are already a file of the conversation (the same image twice).
  assert.ok(response.status === 201 || response.status === 200, `upload: ${response.status}`);
  return body.id;
}

function textFor(run: Run, step: number, kind: TextKind, what: string): string {
  const prefix = `r${run.number} s${step} ${what}`;
  if (kind === TextKind.card) return `${prefix}: card ${cardNumber}, thanks`;
  if (kind === TextKind.residentId) return `${prefix}: ID ${residentId}`;
  return `${prefix}: hello`;
}

function fileFor(run: Run, step: number, kind: FileKind): { name: string; bytes: Buffer } {
  const tag = `r${run.number}-s${step}`;
  if (kind === FileKind.image) return { name: `${tag}.png`, bytes: makePng() };
  if (kind === FileKind.cards) {
    return { name: `${tag}.csv`, bytes: Buffer.concat([makeCardCsv(3, true), Buffer.from(`${tag},,\n`)]) };
  }
  return { name: `${tag}.txt`, bytes: Buffer.from(`Minutes ${tag}\n1. budget\n2. hiring\n`) };
}

/** A message a step sent, with what the model needs of it. */
interface Sent {
  id: string;
  kind: AcceptedMessage["kind"];
  text: string;
  detection: DetectedType | null;
  /** The rule that makes a normal conversation sensitive with this message, if any. */
  turningRule: string | null;
  /** What it does in Slack if relayed. */
  slackOp: SlackOp;
}

/** Sends the message of a post, file, edit or delete step; null when there is nothing to edit or delete. */
async function send(
  run: Run,
  c: ModelConversation,
  op: Extract<Op, { kind: "post" | "file" | "edit" | "delete" }>,
  step: number,
): Promise<Sent | null> {
  if (op.kind === "post") {
    const text = textFor(run, step, op.text, "post");
    const id = await postMessage(c.id, { text });
    c.live.push(id);
    const detection = op.text === TextKind.normal ? null : op.text;
    return {
      id,
      kind: "message",
      text,
      detection,
      turningRule: detection ? "sensitive-detections" : null,
      slackOp: { kind: "post", messageId: id, text, fileName: null },
    };
  }
  if (op.kind === "file") {
    const file = fileFor(run, step, op.file);
    const fileId = await uploadFile(c.id, file.name, file.bytes);
    const text = textFor(run, step, TextKind.normal, `file ${file.name}`);
    const id = await postMessage(c.id, { text, attachments: [fileId] });
    c.live.push(id);
    c.files.set(file.name, { bytes: file.bytes, sensitive: op.file !== FileKind.clean, messageId: id });
    const turningRules: Record<FileKind, string | null> = {
      clean: null,
      cards: "sensitive-file-detections",
      image: "sensitive-uninspectable-files",
    };
    return {
      id,
      kind: "message",
      text,
      detection: null,
      turningRule: turningRules[op.file],
      slackOp: { kind: "post", messageId: id, text, fileName: file.name },
    };
  }
  if (c.live.length === 0) return null;
  const targetId = c.live[op.target % c.live.length] as string;
  if (op.kind === "edit") {
    const text = textFor(run, step, op.text, "edit");
    const id = await postMessage(c.id, { kind: "edit", targetId, text });
    const detection = op.text === TextKind.normal ? null : op.text;
    return {
      id,
      kind: "edit",
      text,
      detection,
      turningRule: detection ? "sensitive-detections" : null,
      slackOp: { kind: "edit", targetId, text },
    };
  }
  const id = await postMessage(c.id, { kind: "delete", targetId, text: "" });
  c.live = c.live.filter((live) => live !== targetId);
  return {
    id,
    kind: "delete",
    text: "",
    detection: null,
    turningRule: null,
    slackOp: { kind: "delete", targetId },
  };
}

async function execute(run: Run, op: Op, step: number): Promise<void> {
  if (op.kind === "create") {
    if (run.conversations.length < maxConversations) await createConversation(run, op.finance);
    return;
  }
  if (op.kind === "restart") {
    await setup.restart();
    run.trace.push(`s${step} restart`);
    return;
  }
  if (op.kind === "cloud-fault") {
    if (op.fault === CloudFault.rateLimited) {
      setup.slack.rateLimitNext(null, op.count, 1);
    } else {
      setup.slack.setOutage(op.fault);
      run.faults.push(sleep(op.ms).then(() => setup.slack.setOutage(null)));
    }
    run.trace.push(
      `s${step} ${op.fault} ${op.fault === CloudFault.rateLimited ? `x${op.count}` : `${op.ms} ms`}`,
    );
    return;
  }
  const index = op.conversation === "same" ? run.current : op.conversation % run.conversations.length;
  run.current = index;
  const c = run.conversations[index] as ModelConversation;
  const mayTurn =
    !c.sensitive &&
    ((op.kind === "post" && op.text !== TextKind.normal) ||
      (op.kind === "edit" && op.text !== TextKind.normal) ||
      (op.kind === "label" && op.finance) ||
      (op.kind === "file" && op.file !== FileKind.clean));
  if (mayTurn && op.settle) await settle(run);

  if (op.kind === "label") {
    const labels = op.finance ? [sensitiveLabel] : [];
    const response = await setup.api.request("PATCH", `/v1/conversations/${c.id}`, { labels });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    c.labels = labels;
    if (op.finance) turn(c, "label");
    if (op.finance && c.undecidedTurn) {
      // The turning message may not be decided yet: then the label turns the conversation first.
      c.undecidedTurn.overtakenByLabel = true;
      c.turnedBy = "label";
    }
    run.trace.push(`s${step} c${index} labels ${JSON.stringify(labels)}`);
    return;
  }

  const sent = await send(run, c, op, step);
  if (sent === null) return;
  const { id, turningRule } = sent;
  const turns = !c.sensitive && turningRule !== null;
  const onPremOnly = c.sensitive || turns;
  const accepted: AcceptedMessage = {
    id,
    kind: sent.kind,
    text: sent.text,
    onPremOnly,
    detection: sent.detection,
    turningRule: turns ? turningRule : null,
    overtakenByLabel: false,
    slackOp: onPremOnly ? null : c.slackOps.length,
  };
  c.accepted.push(accepted);
  if (!onPremOnly) c.slackOps.push(sent.slackOp);
  if (turns) {
    turn(c, "message");
    c.undecidedTurn = accepted;
  }
  run.trace.push(
    `s${step} c${index} ${op.kind}${"text" in op ? ` ${op.text}` : ""}${"file" in op ? ` ${op.file}` : ""} = ${id}` +
      `${onPremOnly ? " (on-prem only)" : ""}${turns ? " TURNS" : ""}`,
  );
}

/** Slack after the first `count` Slack operations of a conversation. */
function slackAfter(ops: readonly SlackOp[], count: number): SlackEntry[] {
  let entries: SlackEntry[] = [];
  for (const op of ops.slice(0, count)) {
    if (op.kind === "post") entries.push({ messageId: op.messageId, text: op.text, fileName: op.fileName });
    else if (op.kind === "edit") {
      entries = entries.map((e) => (e.messageId === op.targetId ? { ...e, text: op.text } : e));
    } else entries = entries.filter((e) => e.messageId !== op.targetId);
  }
  return entries;
}

const isNotice = (m: FakeSlackMessage) => m.metadata?.event_type === noticeEventType;

/** The on-prem message a Slack message relays: by its metadata, or by the file it shares. */
function relayedId(c: ModelConversation, m: FakeSlackMessage): string {
  if (m.metadata?.event_type === messageEventType) return String(m.metadata.event_payload.message_id);
  const file = m.files[0] && c.files.get(m.files[0].name);
  return file ? file.messageId : `(unknown: ${JSON.stringify(m.text)})`;
}

/** (1) no leak, (3) nothing lost and no duplicate, (4) order, in the conversation's channel. */
function checkSlack(c: ModelConversation, name: string): void {
  const { slack } = setup;
  const messages = slack.messages(c.channel);
  const notices = messages.filter(isNotice);
  // One notice per turn, none for a conversation sensitive before it was bound.
  const turnedWhileBound = c.turnedBy === "label" || c.turnedBy === "message";
  assert.equal(notices.length, turnedWhileBound ? 1 : 0, `${name}: notices`);
  if (turnedWhileBound)
    assert.ok(isNotice(messages.at(-1) as FakeSlackMessage), `${name}: the notice comes last`);
  if (c.turnedBy === "created") {
    const calls = slack.calls().filter((call) => call.channel === c.channel);
    assert.deepEqual(calls, [], `${name}: sensitive from the start, no Web API call names its channel`);
  }

  const inSlack: SlackEntry[] = messages
    .filter((m) => !isNotice(m))
    .map((m) => ({ messageId: relayedId(c, m), text: m.text, fileName: m.files[0]?.name ?? null }));
  // Slack holds the effect of a prefix of the operations accepted while normal: at least those
  // relayed before the turn was seen (all of them when it never turned); what followed may have
  // been withheld, since the relay checks the sticky flag before every send. The count of deletes
  // tells apart prefixes that leave the same messages (a post, then its delete).
  const certain = c.certain ?? c.slackOps.length;
  const deleted = slack.deleted(c.channel).length;
  const deletesIn = (count: number) => c.slackOps.slice(0, count).filter((op) => op.kind === "delete").length;
  let matched = false;
  for (let count = certain; count <= c.slackOps.length && !matched; count++) {
    matched = deletesIn(count) === deleted && isDeepStrictEqual(slackAfter(c.slackOps, count), inSlack);
  }
  assert.ok(
    matched,
    `${name}: Slack holds no prefix of what was accepted while normal ` +
      `(certain ${certain} of ${c.slackOps.length} operations)\n` +
      `in Slack: ${JSON.stringify(inSlack)}, ${deleted} deleted\n` +
      `expected at least: ${JSON.stringify(slackAfter(c.slackOps, certain))}, ${deletesIn(certain)} deleted\n` +
      `at most: ${JSON.stringify(slackAfter(c.slackOps, c.slackOps.length))}, ${deletesIn(c.slackOps.length)} deleted`,
  );

  for (const file of messages.flatMap((m) => m.files)) {
    const bytes = slack.fileBytes(file.id);
    const uploaded = c.files.get(file.name);
    assert.ok(uploaded && !uploaded.sensitive, `${name}: only clean files reach Slack (${file.name})`);
    assert.deepEqual(bytes, uploaded.bytes, `${name}: ${file.name} arrived intact`);
    for (const sensitive of [...c.files.values()].filter((f) => f.sensitive)) {
      assert.ok(!bytes.equals(sensitive.bytes), `${name}: sensitive bytes in Slack`);
    }
  }
}

/** (1) no leak: no detected secret in any text or file in Slack, whatever the conversation. */
function checkNoSecretInSlack(run: Run): void {
  for (const c of run.conversations) {
    for (const m of setup.slack.messages(c.channel)) {
      for (const secret of Object.values(secretOf)) {
        assert.ok(!m.text.includes(secret), `a detected secret in Slack: ${JSON.stringify(m.text)}`);
      }
      for (const file of m.files) {
        const bytes = setup.slack.fileBytes(file.id).toString("latin1");
        assert.ok(!/4\d{3} \d{4} \d{4} \d{4}/.test(bytes), `card numbers in a Slack file (${file.name})`);
      }
    }
  }
}

/** (2) sticky: the broker's conversation state is the model's. */
async function checkConversation(c: ModelConversation, name: string): Promise<void> {
  const response = await setup.api.request<{ labels: string[]; sensitivity: { sensitive: boolean } }>(
    "GET",
    `/v1/conversations/${c.id}`,
  );
  assert.equal(response.status, 200);
  assert.equal(response.body.sensitivity.sensitive, c.sensitive, `${name}: sensitive`);
  assert.deepEqual(response.body.labels, c.labels, `${name}: labels`);
}

/** (3) nothing lost and (4) order on-prem: history holds every accepted message once, in order. */
async function checkHistory(c: ModelConversation, name: string): Promise<void> {
  let history: Array<{ id: string; kind: string; text: string }> = [];
  await waitUntil(
    async () => {
      const response = await setup.api.request<{ messages: typeof history }>(
        "GET",
        `/v1/conversations/${c.id}/messages?limit=200`,
      );
      history = response.body.messages;
      return history.length >= c.accepted.length;
    },
    drainTimeoutMs,
    `${name}: history`,
  );
  assert.deepEqual(
    history.map((m) => [m.id, m.kind, m.text]),
    c.accepted.map((m) => [m.id, m.kind, m.text]),
    `${name}: history is every accepted message once, in acceptance order`,
  );
}

interface Routing {
  zone: "cloud" | "onprem";
  sensitive: boolean;
  policyVersion: string;
  rules: string[];
  detections: Array<{ type: string; start: number; end: number }>;
}

/** (5) explainable: every message has a decision, of the zone the model says, with its detections. */
async function checkDecisions(c: ModelConversation, name: string): Promise<void> {
  for (const m of c.accepted) {
    const response = await setup.api.request<{ routing: Routing | null }>("GET", `/v1/messages/${m.id}`);
    assert.equal(response.status, 200, `${name}: ${m.id} stored`);
    const { routing } = response.body;
    const what = `${name}: decision of ${m.kind} ${m.id} ${JSON.stringify(m.text)}`;
    assert.ok(routing, `${what}: missing`);
    assert.equal(routing.policyVersion, policyVersion, what);
    if (m.onPremOnly) {
      assert.deepEqual([routing.zone, routing.sensitive], ["onprem", true], what);
    } else if (!(c.turnedBy === "label" && (m.slackOp ?? 0) >= (c.certain ?? Infinity))) {
      // Only a label may overtake a message accepted before it, and only one not yet settled.
      assert.deepEqual([routing.zone, routing.sensitive], ["cloud", false], what);
    }
    if (m.turningRule) {
      const rules = m.overtakenByLabel ? [m.turningRule, "sticky"] : [m.turningRule];
      assert.ok(
        rules.some((rule) => routing.rules.includes(rule)),
        `${what}: rules ${routing.rules.join(", ")}`,
      );
    }
    if (m.detection) {
      const secret = secretOf[m.detection];
      const found = routing.detections.find((d) => d.type === m.detection);
      assert.ok(found, `${what}: no ${m.detection} detection`);
      assert.equal(m.text.slice(found.start, found.end), secret, `${what}: detection position`);
    }
    const recorded = JSON.stringify(routing);
    for (const secret of Object.values(secretOf)) {
      assert.ok(
        !recorded.includes(secret) && !recorded.includes(secret.replaceAll(" ", "")),
        `${what}: secret kept`,
      );
    }
  }
}

async function drainAndCheck(run: Run): Promise<void> {
  await Promise.all(run.faults);
  setup.slack.setOutage(null);
  await waitIdle("the broker to drain");
  assert.equal(await streamMessageCount(setup.prefix, "DLQ"), 0, "nothing dead-lettered");
  for (const [index, c] of run.conversations.entries()) {
    const name = `run ${run.number} c${index}`;
    await checkHistory(c, name);
    await checkConversation(c, name);
    await checkDecisions(c, name);
    checkSlack(c, name);
  }
  checkNoSecretInSlack(run);
}

/** The run's steps and what Slack holds, for a failure's report. */
function report(run: Run): string {
  const channels = run.conversations.map((c, index) => {
    const shown = setup.slack
      .messages(c.channel)
      .map((m) => `${JSON.stringify(m.text)} ${m.metadata ? JSON.stringify(m.metadata.event_payload) : ""}`);
    return `  c${index} in Slack:\n    ${shown.join("\n    ") || "(nothing)"}`;
  });
  return `run ${run.number}:\n  ${run.trace.join("\n  ")}\n${channels.join("\n")}`;
}

test("random operations through the Slack relay keep the five invariants", async () => {
  let runs = 0;
  const seed = process.env.WATERSHED_MODEL_SEED;
  await fc.assert(
    fc.asyncProperty(
      fc.array(rarely, { minLength: 1, maxLength: 3 }),
      fc.array(operation, { minLength: 10, maxLength: 25 }),
      async (initial, ops) => {
        const run: Run = { number: ++runs, conversations: [], current: 0, faults: [], trace: [] };
        try {
          for (const finance of initial) await createConversation(run, finance);
          for (const [step, op] of ops.entries()) await execute(run, op, step);
          await drainAndCheck(run);
        } catch (error) {
          // fast-check reports the stack, which holds the message as it was thrown.
          if (error instanceof Error) error.stack = `${error.stack ?? error.message}\n${report(run)}`;
          throw error;
        } finally {
          await Promise.all(run.faults);
          setup.slack.setOutage(null);
        }
      },
    ),
    {
      numRuns: Number(process.env.WATERSHED_MODEL_RUNS ?? 12),
      // Each run costs seconds against the real broker: report the first failure, unshrunk.
      endOnFailure: true,
      // node:test does not print an error's cause: put the failed assertion in the report.
      includeErrorInReport: true,
      ...(seed === undefined ? {} : { seed: Number(seed), path: process.env.WATERSHED_MODEL_PATH }),
    },
  );
});
