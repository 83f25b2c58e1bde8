// One Web API call end to end: outage, method, authentication, rate limit, answer, call log.
// https://docs.slack.dev/apis/web-api/ — always HTTP 200 with {ok:true,...} or {ok:false,error},
// except 429 + Retry-After when rate limited.
import type { IncomingMessage, ServerResponse } from "node:http";
import { stringArg } from "./args.ts";
import { METHODS } from "./methods.ts";
import type { MethodSpec, SlackBody } from "./methods.ts";
import type { ChannelRateLimiter } from "./rate-limit.ts";
import { parseApiRequest, readBody } from "./request.ts";
import type { ApiRequest } from "./request.ts";
import { sendJson, sendText } from "./server.ts";
import { OutageMode } from "./types.ts";
import type { ApiCall } from "./types.ts";
import type { Change, Principal, Workspace } from "./workspace.ts";

const MAX_API_BODY_BYTES = 5 * 1024 * 1024;

export interface WebApiDeps {
  ws: Workspace;
  limiter: ChannelRateLimiter;
  baseUrl: string;
  outage: () => OutageMode | null;
  record: (call: ApiCall) => void;
  hold: (res: ServerResponse) => void;
  /** What a successful call changed, for the events Slack would send. */
  changed: (principal: Principal, changes: Change[]) => void;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: SlackBody;
  principal: Principal | null;
  changes: Change[];
}

export async function handleWebApi(
  deps: WebApiDeps,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const at = deps.ws.now();
  const raw = await readBody(req, MAX_API_BODY_BYTES);
  if (raw === null) {
    deps.record({ method, channel: null, ok: false, error: null, status: 413, at });
    return sendText(res, 413, "Request Entity Too Large");
  }
  const request = await parseApiRequest(req, raw, url);
  const spec = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  const channel = callChannel(deps.ws, spec, request);

  const outage = deps.outage();
  if (outage === OutageMode.error500) {
    deps.record({ method, channel, ok: false, error: null, status: 500, at });
    return sendText(res, 500, "Internal Server Error");
  }
  if (outage === OutageMode.timeout) {
    deps.record({ method, channel, ok: false, error: null, status: null, at });
    return deps.hold(res);
  }

  const answer = answerCall(deps, spec, request, channel);
  // The call took effect; with commit-then-timeout its caller just never hears so.
  const held = outage === OutageMode.commitThenTimeout;
  deps.record({
    method,
    channel,
    ok: answer.body.ok,
    error: answer.body.error ?? null,
    status: held ? null : answer.status,
    at,
  });
  if (answer.principal !== null && answer.changes.length > 0) deps.changed(answer.principal, answer.changes);
  if (held) return deps.hold(res);
  sendJson(res, answer.status, answer.body, answer.headers);
}

function answerCall(
  deps: WebApiDeps,
  spec: MethodSpec | undefined,
  request: ApiRequest,
  channel: string | null,
): Answer {
  const refuse = (error: string): Answer => ({
    status: 200,
    headers: {},
    body: { ok: false, error },
    principal: null,
    changes: [],
  });
  if (spec === undefined) return refuse("unknown_method");
  if (request.malformed !== null) return refuse(request.malformed);
  const auth = deps.ws.authenticate(request.token);
  if (!auth.ok) return refuse(auth.error);

  if (spec.write) {
    const decision = deps.limiter.take(channel);
    if (decision.limited) {
      return {
        status: 429,
        headers: { "retry-after": String(decision.retryAfterSeconds) },
        body: { ok: false, error: "ratelimited" },
        principal: null,
        changes: [],
      };
    }
  }
  const result = spec.run({
    ws: deps.ws,
    principal: auth.principal,
    args: request.args,
    baseUrl: deps.baseUrl,
  });
  return { status: 200, headers: {}, body: result.body, principal: auth.principal, changes: result.changes };
}

/** The channel a call names, as an id when the workspace has it. */
function callChannel(ws: Workspace, spec: MethodSpec | undefined, request: ApiRequest): string | null {
  const named = spec === undefined ? stringArg(request.args, "channel") : spec.channelOf(request.args);
  if (named === undefined || named === "") return null;
  return ws.channel(named)?.id ?? named;
}
