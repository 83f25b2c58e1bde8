// Dead letters over HTTP (role security-admin): list, show and redrive what the relay could not
// deliver. Showing a letter reveals its message text, hence the same role as the audit log.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { getDeadLetter, listDeadLetters, redrive, type DlqDeps } from "../dlq/index.ts";
import type { Topology } from "../nats/topology.ts";
import { admin as requireSecurityAdmin } from "./policy-routes.ts";
import { ProblemError, ProblemType } from "./problems.ts";
import { parseBody, parseParams } from "./validate.ts";

export interface DlqApiDeps {
  js: JetStreamClient;
  topo: Topology;
}

const Seq = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Connector = z.string().min(1).max(64);

const SeqParams = z.strictObject({ seq: Seq });

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The `next` of the previous page. */
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  connector: Connector.optional(),
});

const RedriveBody = z.union([
  z.strictObject({ all: z.literal(true), connector: Connector.optional() }),
  z.strictObject({
    seqs: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(1000),
  }),
]);

export function registerDlqRoutes(app: FastifyInstance, deps: DlqApiDeps): void {
  // Without the API check: it would cost a round trip and cannot fail here.
  let jsm: Promise<JetStreamManager> | null = null;
  const dlq = async (): Promise<DlqDeps> => {
    jsm ??= deps.js.jetstreamManager(false);
    return { js: deps.js, jsm: await jsm, topo: deps.topo };
  };

  app.get("/v1/dlq", async (request) => {
    requireSecurityAdmin(request);
    const query = parseParams(ListQuery, request.query);
    return listDeadLetters(await dlq(), {
      limit: query.limit,
      afterSeq: query.after,
      connector: query.connector,
    });
  });

  app.get("/v1/dlq/:seq", async (request) => {
    requireSecurityAdmin(request);
    const { seq } = parseParams(SeqParams, request.params);
    const entry = await getDeadLetter(await dlq(), seq);
    if (!entry) throw new ProblemError(ProblemType.deadLetterNotFound, `no dead letter with seq ${seq}`);
    return entry;
  });

  app.post("/v1/dlq/:seq/redrive", async (request) => {
    const principal = requireSecurityAdmin(request);
    const { seq } = parseParams(SeqParams, request.params);
    const report = await redrive(await dlq(), [seq]);
    if (report.missing.length > 0)
      throw new ProblemError(ProblemType.deadLetterNotFound, `no dead letter with seq ${seq}`);
    if (report.unreadable.length > 0)
      throw new ProblemError(
        ProblemType.deadLetterUnreadable,
        `the entry with seq ${seq} is not a dead letter`,
      );
    request.log.info({ actor: principal.id, seqs: [seq] }, "dead letters redriven");
    return report;
  });

  app.post("/v1/dlq/redrive", async (request) => {
    const principal = requireSecurityAdmin(request);
    const body = parseBody(RedriveBody, request.body);
    const report =
      "all" in body
        ? await redrive(await dlq(), "all", { connector: body.connector })
        : await redrive(await dlq(), body.seqs);
    request.log.info(
      { actor: principal.id, seqs: report.redriven.map((r) => r.seq), missing: report.missing },
      "dead letters redriven",
    );
    return report;
  });
}
