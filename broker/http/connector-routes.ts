// Connector routes: their health (GET /v1/connectors) and cloud deliveries
// (POST /v1/connectors/{kind}/events), which a cloud signs instead of sending a bearer token.
import type { FastifyInstance } from "fastify";
import type { Connector } from "../../connectors/index.ts";
import { acceptInboundEvent, type InboundOutcome } from "../ingress/inbound.ts";
import type { FileIntakeDeps } from "../files/intake.ts";
import type { IngressDeps } from "../ingress/accept.ts";
import type { Logger } from "../telemetry/log.ts";
import { securityAdminRole } from "./policy-routes.ts";
import { ProblemError, ProblemType } from "./problems.ts";

export interface ConnectorApiDeps {
  connectors: readonly Connector[];
  ingress: IngressDeps;
  /** Where files shared in a cloud are brought in. */
  files: FileIntakeDeps;
  log: Logger;
}

/** Route config of routes that authenticate their requests themselves (signed deliveries). */
const signedDelivery = { signedDelivery: true } as const;

export function isSignedDelivery(config: unknown): boolean {
  return (config as { signedDelivery?: unknown } | undefined)?.signedDelivery === true;
}

export function registerConnectorRoutes(app: FastifyInstance, deps: ConnectorApiDeps): void {
  app.get("/v1/connectors", async (request) => {
    if (!request.principal) throw new ProblemError(ProblemType.unauthenticated);
    const check = (request.query as { check?: string } | undefined)?.check === "true";
    // Asking the clouds costs their rate limits: only for whoever can act on the answer.
    if (check && !request.principal.roles.includes(securityAdminRole)) {
      throw new ProblemError(ProblemType.forbidden, `check=true needs the role '${securityAdminRole}'`);
    }
    const connectors = await Promise.all(
      deps.connectors.map(async (connector) => {
        const health = check
          ? await connector.checkHealth().catch(() => connector.health())
          : connector.health();
        return {
          kind: connector.kind,
          healthy: health.healthy,
          detail: health.detail,
          capabilities: [...connector.capabilities].sort(),
          inbound: connector.inbound !== undefined,
          rateLimits: connector.rateLimits,
        };
      }),
    );
    return { connectors };
  });

  // The signature covers the exact bytes, so this scope keeps the body raw.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    scope.post("/v1/connectors/:kind/events", { config: signedDelivery }, async (request, reply) => {
      const { kind } = request.params as { kind: string };
      const connector = deps.connectors.find((c) => c.kind === kind);
      const inbound = connector?.inbound;
      if (!connector || !inbound) {
        throw new ProblemError(ProblemType.notFound, `no connector '${kind}' takes deliveries here`);
      }
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = inbound.handle({ headers: request.headers, rawBody });
      if (result.kind === "rejected") {
        deps.log.warn({ connector: kind, reason: result.reason }, "inbound delivery rejected");
        throw new ProblemError(ProblemType.invalidSignature, result.reason);
      }
      if (result.kind === "reply") return reply.send(result.body);
      // Answered only once every event is durable in INGRESS: an error makes the cloud retry.
      const outcomes: InboundOutcome[] = [];
      for (const event of result.events) {
        const outcome = await acceptInboundEvent(
          { ...deps.ingress, log: deps.log, files: deps.files },
          connector,
          (user) => inbound.identityOf(user),
          event,
        );
        if (outcome.kind === "ignored") {
          deps.log.info(
            { connector: kind, eventId: event.eventId, why: outcome.why },
            "inbound event ignored",
          );
        }
        outcomes.push(outcome);
      }
      return reply.send({ ok: true, accepted: outcomes.filter((o) => o.kind === "accepted").length });
    });
  });
}
