// The HTTP server: fastify with problem+json errors, bearer authentication on /v1, and the routes.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from "fastify";
import type { Principal, TokenVerifier } from "../auth/index.ts";
import { AuthError } from "../auth/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { registerDlqRoutes } from "./dlq-routes.ts";
import { ProblemError, ProblemType } from "./problems.ts";
import { registerPolicyRoutes, type PolicyApiDeps } from "./policy-routes.ts";
import { isSignedDelivery, registerConnectorRoutes, type ConnectorApiDeps } from "./connector-routes.ts";
import { registerFileRoutes, type FileApiDeps } from "./file-routes.ts";
import { registerConversationRoutes, type ApiDeps } from "./routes.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface HttpDeps
  extends ApiDeps, PolicyApiDeps, Omit<ConnectorApiDeps, "log">, Omit<FileApiDeps, "log"> {
  verify: TokenVerifier;
  bodyLimitBytes: number;
  log: Logger;
  /** Resolves when NATS, PostgreSQL and the streams are usable. */
  ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
}

/** A request URL without its query. */
function pathOf(url: string): string {
  return url.split("?")[0] ?? url;
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // Request lines are not logged: URLs and errors are logged where they matter, bodies never.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  app.decorateRequest("principal", null);

  app.setErrorHandler((error: FastifyError | ProblemError, request, reply) => {
    const problem = toProblem(error);
    if (problem.status === 503) {
      request.log.warn({ type: problem.type, path: pathOf(request.url) }, "request refused for now");
      void reply.header("retry-after", "1");
    } else if (problem.status >= 500) {
      // The path only: a query can hold a file name or other user data.
      request.log.error({ err: error, path: pathOf(request.url) }, "request failed");
    }
    void reply
      .code(problem.status)
      .type("application/problem+json")
      .send(problem.toJSON(pathOf(request.url)));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type("application/problem+json")
      .send(
        new ProblemError(ProblemType.notFound, `no route ${request.method} ${pathOf(request.url)}`).toJSON(
          pathOf(request.url),
        ),
      );
  });

  app.addHook("onRequest", async (request) => {
    if (!request.url.startsWith("/v1/")) return;
    if (isSignedDelivery(request.routeOptions.config)) return;
    request.principal = await authenticate(request, deps.verify);
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const result = await deps.ready();
    return reply
      .code(result.ok ? 200 : 503)
      .send({ status: result.ok ? "ready" : "not-ready", checks: result.checks });
  });
  registerConversationRoutes(app, deps);
  registerPolicyRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerFileRoutes(app, deps);
  registerDlqRoutes(app, { js: deps.ingress.js, topo: deps.ingress.topo });
  return app;
}

async function authenticate(request: FastifyRequest, verify: TokenVerifier): Promise<Principal> {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
  if (!match?.[1]) {
    throw new ProblemError(ProblemType.unauthenticated, "send 'Authorization: Bearer <JWT>'");
  }
  try {
    return await verify(match[1]);
  } catch (error) {
    if (error instanceof AuthError) throw new ProblemError(ProblemType.unauthenticated, error.message);
    throw error;
  }
}

function toProblem(error: FastifyError | ProblemError): ProblemError {
  if (error instanceof ProblemError) return error;
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new ProblemError(ProblemType.malformedJson, "the body could not be parsed as JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ProblemError(ProblemType.malformedJson, "the body is empty");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ProblemError(ProblemType.bodyTooLarge);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ProblemError(ProblemType.unsupportedMediaType);
  }
  if (error instanceof SyntaxError) return new ProblemError(ProblemType.malformedJson);
  if (isUnavailable(error)) return new ProblemError(ProblemType.unavailable);
  return new ProblemError(ProblemType.internal);
}

/**
 * PostgreSQL or NATS unreachable or timing out: the client should retry. The cause chain counts
 * too: during a NATS failover the error says "jetstream is not enabled", its cause "no responders".
 */
function isUnavailable(error: Error, depth = 0): boolean {
  const cause = (error as { cause?: unknown }).cause;
  if (depth < 5 && cause instanceof Error && isUnavailable(cause, depth + 1)) return true;
  const code = (error as { code?: string }).code ?? "";
  return (
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "57P01",
      "57P03",
      "08006",
      "08001",
      "TIMEOUT",
      "503",
    ].includes(code) || /timeout|no responders|connection (closed|terminated)/i.test(error.message)
  );
}
