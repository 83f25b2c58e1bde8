// Puts the fake together: workspace, Web API, upload endpoints, event sender, and the test's controls.
import type { ServerResponse } from "node:http";
import { EventSender } from "./delivery.ts";
import { FakeSlackError } from "./errors.ts";
import { envelopeFor, eventsFor } from "./events.ts";
import { shareFile } from "./files.ts";
import {
  newBotToken,
  newChallenge,
  newClientMsgId,
  newSigningSecret,
  newUserToken,
  newVerificationToken,
} from "./ids.ts";
import { addReaction, deleteMessage, postMessage, updateMessage } from "./messaging.ts";
import { ChannelRateLimiter } from "./rate-limit.ts";
import { sendText, startHttpServer } from "./server.ts";
import type { HttpServer } from "./server.ts";
import { OutageMode } from "./types.ts";
import type {
  ActionResult,
  ApiCall,
  DeliveryResult,
  EventEnvelope,
  FakeSlack,
  FakeSlackOptions,
} from "./types.ts";
import { handleDownload, handleUpload } from "./uploads.ts";
import { inspectMessage } from "./views.ts";
import { handleWebApi } from "./web-api.ts";
import type { WebApiDeps } from "./web-api.ts";
import { Workspace } from "./workspace.ts";
import type { Change, Outcome, Principal } from "./workspace.ts";

const OUTAGE_MODES: ReadonlySet<string> = new Set(Object.values(OutageMode));

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const now = Date.now;
  const echoBotMessages = options.echoBotMessages ?? true;
  const ws = new Workspace({ teamName: options.teamName ?? "Watershed Test", now });
  const signingSecret = newSigningSecret();
  const verificationToken = newVerificationToken();
  const botToken = newBotToken();
  ws.issueToken(botToken, ws.botPrincipal);
  const adminToken = newUserToken();
  ws.issueToken(adminToken, ws.humanPrincipal(ws.adminUserId));

  const limiter = new ChannelRateLimiter({
    perSecond: options.perChannelPerSecond ?? 1,
    burst: options.perChannelBurst ?? 3,
    now,
  });
  const sender = new EventSender({
    signingSecret,
    autoRetry: options.autoRetry ?? false,
    retryDelaysMs: [...(options.retryDelaysMs ?? [0, 1000, 5000])],
    timeoutMs: options.deliveryTimeoutMs ?? 3000,
    now,
  });
  sender.setUrl(options.eventsUrl ?? null);

  const calls: ApiCall[] = [];
  const envelopes = new Map<string, EventEnvelope>();
  let outage: OutageMode | null = null;
  let closed = false;
  const record = (call: ApiCall): void => void calls.push(call);

  const server: HttpServer = await startHttpServer(async (req, res, url) => {
    const api = /^\/api\/([A-Za-z0-9._]+)$/.exec(url.pathname);
    if (api?.[1] !== undefined && (req.method === "POST" || req.method === "GET")) {
      return handleWebApi(deps, api[1], req, res, url);
    }
    const upload = /^\/upload\/v1\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (upload?.[1] !== undefined && req.method === "POST")
      return handleUpload(ws, record, upload[1], req, res);
    const download = /^\/files-pri\/T[A-Z0-9]+-(F[A-Z0-9]+)\/(?:download\/)?[^/]+$/.exec(url.pathname);
    if (download?.[1] !== undefined && req.method === "GET") return handleDownload(ws, download[1], req, res);
    sendText(res, 404, "Not Found");
  });
  const baseUrl = server.baseUrl;

  /** Wraps each change's events in envelopes and hands them to the sender. */
  const emit = (changes: Change[]): { eventId: string; result: Promise<DeliveryResult | null> }[] =>
    changes.flatMap((change) =>
      eventsFor(ws, change, baseUrl).map((event) => {
        const envelope = envelopeFor(ws, event, verificationToken);
        envelopes.set(envelope.event_id, envelope);
        return { eventId: envelope.event_id, result: sender.dispatch(envelope, envelope.event_id) };
      }),
    );

  // Requests arrive only once this continuation has run, so the handler above may use it.
  const deps: WebApiDeps = {
    ws,
    limiter,
    baseUrl,
    outage: () => outage,
    record,
    hold: (res: ServerResponse) => server.hold(res),
    changed: (principal: Principal, changes: Change[]) => {
      // Slack echoes the app's own writes; people's writes through a user token are always events.
      if (principal.botId !== null && !echoBotMessages) return;
      for (const { result } of emit(changes)) void result.catch(() => undefined);
    },
  };

  /** A user action's events, each with its first delivery's status. */
  const deliverAction = async <T>(
    what: string,
    outcome: Outcome<T>,
  ): Promise<{ value: T; events: ActionResult[] }> => {
    if (!outcome.ok) throw new FakeSlackError(`${what}: ${outcome.error}`);
    const emitted = emit(outcome.changes);
    const events = await Promise.all(
      emitted.map(async ({ eventId, result }) => ({ eventId, status: (await result)?.status ?? null })),
    );
    return { value: outcome.value, events };
  };
  const firstEvent = (events: ActionResult[]): ActionResult => {
    const event = events[0];
    if (event === undefined) throw new FakeSlackError("the action produced no event");
    return event;
  };

  const fake: FakeSlack = {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    teamId: ws.teamId,
    teamName: ws.teamName,
    appId: ws.appId,
    botId: ws.botId,
    botUserId: ws.botUserId,
    botToken,
    adminUserId: ws.adminUserId,
    adminToken,
    signingSecret,

    setEventsUrl: (url) => sender.setUrl(url),
    createChannel: (name, channelOptions) => ws.addChannel(name, channelOptions?.botIsMember ?? true),
    archiveChannel: (channel) => void (ws.requireChannel(channel).archived = true),
    createUser: (name, userOptions) =>
      ws.addUser(name, { isBot: false, isAdmin: userOptions?.admin ?? false }),

    revoke: (token) => ws.revoke(token),
    issueBotToken() {
      const token = newBotToken();
      ws.issueToken(token, ws.botPrincipal);
      return token;
    },
    setOutage(mode) {
      if (mode !== null && !OUTAGE_MODES.has(mode)) throw new FakeSlackError(`unknown outage mode: ${mode}`);
      outage = mode;
    },
    rateLimitNext(channel, count, retryAfterSeconds) {
      limiter.forceNext(
        channel === null ? null : (ws.channel(channel)?.id ?? channel),
        count,
        retryAfterSeconds,
      );
    },

    calls: () => calls.map((call) => ({ ...call })),
    messages: (channel) =>
      ws
        .requireChannel(channel)
        .messages.filter((message) => !message.deleted)
        .map(inspectMessage),
    deleted: (channel) => [...ws.requireChannel(channel).deletedTs],
    deletedFiles: () => [...ws.deletedFiles],
    fileBytes(fileId) {
      const bytes = ws.files.get(fileId)?.bytes;
      if (bytes === null || bytes === undefined)
        throw new FakeSlackError(`no uploaded bytes for file ${fileId}`);
      return Buffer.from(bytes);
    },

    async postAsUser(user, channel, text, postOptions) {
      const outcome = postMessage(ws, ws.humanPrincipal(user), {
        channel,
        text,
        hasBlocks: false,
        threadTs: postOptions?.threadTs,
        username: undefined,
        metadata: null,
        clientMsgId: newClientMsgId(),
        files: [],
      });
      const { value, events } = await deliverAction("postAsUser", outcome);
      return { ts: value.message.ts, ...firstEvent(events) };
    },
    async editAsUser(user, channel, ts, text) {
      const outcome = updateMessage(ws, ws.humanPrincipal(user), {
        channel,
        ts,
        text,
        hasBlocks: false,
        metadata: undefined,
      });
      return firstEvent((await deliverAction("editAsUser", outcome)).events);
    },
    async deleteAsUser(user, channel, ts) {
      const outcome = deleteMessage(ws, ws.humanPrincipal(user), { channel, ts });
      return firstEvent((await deliverAction("deleteAsUser", outcome)).events);
    },
    async reactAsUser(user, channel, ts, name) {
      const outcome = addReaction(ws, ws.humanPrincipal(user), { channel, timestamp: ts, name });
      return firstEvent((await deliverAction("reactAsUser", outcome)).events);
    },
    async shareFileAsUser(user, channel, file, shareOptions) {
      const outcome = shareFile(ws, ws.humanPrincipal(user), {
        channel,
        name: file.name,
        bytes: Buffer.from(file.bytes),
        title: file.title,
        threadTs: shareOptions?.threadTs,
        clientMsgId: newClientMsgId(),
      });
      const { value, events } = await deliverAction("shareFileAsUser", outcome);
      const fileShared = events[1];
      if (fileShared === undefined) throw new FakeSlackError("shareFileAsUser: no file_shared event");
      return { ts: value.posted.message.ts, fileId: value.file.id, ...firstEvent(events), fileShared };
    },

    async deliver(envelopeOrEventId, deliverOptions = {}) {
      const envelope =
        typeof envelopeOrEventId === "string" ? envelopes.get(envelopeOrEventId) : envelopeOrEventId;
      if (envelope === undefined)
        throw new FakeSlackError(`no envelope with event id ${String(envelopeOrEventId)}`);
      return sender.deliver(envelope, deliverOptions, envelope.event_id);
    },
    async urlVerification() {
      // https://docs.slack.dev/reference/events/url_verification
      const challenge = newChallenge();
      const payload = { token: verificationToken, challenge, type: "url_verification" };
      return { ...(await sender.deliver(payload, {}, null)), challenge };
    },
    envelopes: () => [...envelopes.values()].map((envelope) => structuredClone(envelope)),
    deliveries: () => sender.history(),
    idle: () => sender.idle(),

    async close() {
      if (closed) return;
      closed = true;
      sender.close();
      await server.close();
      await sender.idle();
    },
  };
  return fake;
}
