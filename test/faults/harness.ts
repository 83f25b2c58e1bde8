// One fault run: conversations, the workload and the faults side by side, the wait for the broker
// to drain, and the check; with a timeline of the faults and the timings.
import { checkRun, reportFailed, waitForDrain, type FaultReport } from "./check.ts";
import { startRig, type BrokerExit, type Rig, type RigOptions } from "./rig.ts";
import { startPrivateNats, startPrivatePostgres, type PrivateService } from "./services.ts";
import { createConversations, runWorkload, type RunResult } from "./workload.ts";

export interface FaultContext {
  rig: Rig;
  /** Seconds since the workload started. */
  elapsed(): number;
  /** Adds a line to the scenario's timeline, stamped with the time. */
  mark(what: string): void;
  /** Resolves once this many messages were acknowledged in all (or the workload ended). */
  untilAcknowledged(count: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** Whether the workload has sent everything. */
  sendingDone(): boolean;
}

export interface RunPlan {
  conversations: number;
  messages: number;
  /** Messages per second the senders keep to, all together. @default unlimited */
  ratePerSecond?: number;
  /** The longest wait, once everything was acknowledged and the faults ended, for the broker to drain. */
  drainTimeoutMs: number;
  /** Runs beside the workload; it should end with every service back. */
  faults(context: FaultContext): Promise<void>;
}

export interface ScenarioResult {
  name: string;
  /** The fault, in a few words, for the table. */
  fault: string;
  ok: boolean;
  /** Set when the scenario itself crashed; the report may then be partial or absent. */
  error: string | null;
  report: FaultReport | null;
  drained: boolean;
  timings: {
    /** Starting services, broker and conversations. */
    setupSeconds: number;
    /** First message sent to last 202. */
    sendSeconds: number;
    /** Last 202 (and the end of the faults) to everything stored and relayed. */
    drainSeconds: number;
    totalSeconds: number;
  };
  timeline: string[];
  workload: Pick<RunResult, "retries" | "failures"> | null;
  brokerExits: BrokerExit[];
  brokerLog: Record<string, number>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the relay asked Slack, by method, and how the failed calls were answered: evidence the faults bit. */
function slackCalls(rig: Rig): string {
  const byMethod: Record<string, number> = {};
  const failed: Record<string, number> = {};
  for (const call of rig.slack.calls()) {
    byMethod[call.method] = (byMethod[call.method] ?? 0) + 1;
    if (call.ok) continue;
    const outcome = call.status === null ? "unanswered" : `HTTP ${call.status}`;
    failed[outcome] = (failed[outcome] ?? 0) + 1;
  }
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([key, n]) => `${key} ${n.toLocaleString("en")}`)
      .join(", ") || "none";
  return `${list(byMethod)}; failed: ${list(failed)}`;
}

/** Runs a plan on a rig that is up; never throws: a crash is reported in the result. */
export async function runPlan(
  name: string,
  fault: string,
  rig: Rig,
  plan: RunPlan,
  setupStartedAt: number,
): Promise<ScenarioResult> {
  const timeline: string[] = [];
  const result: ScenarioResult = {
    name,
    fault,
    ok: false,
    error: null,
    report: null,
    drained: false,
    timings: { setupSeconds: 0, sendSeconds: 0, drainSeconds: 0, totalSeconds: 0 },
    timeline,
    workload: null,
    brokerExits: rig.unexpectedExits,
    brokerLog: {},
  };
  const options = { baseUrl: () => rig.url, token: rig.token, slack: rig.slack };
  const inputs = {
    pool: rig.pool,
    slack: rig.slack,
    conversations: [] as Awaited<ReturnType<typeof createConversations>>,
    natsServers: rig.adminNatsServers,
    prefix: rig.prefix,
  };
  try {
    inputs.conversations = await createConversations(options, plan.conversations);
    result.timings.setupSeconds = (Date.now() - setupStartedAt) / 1000;
    const started = Date.now();
    let acknowledged = 0;
    let sendingDone = false;
    const waiters: Array<{ count: number; resolve: () => void }> = [];
    const wake = () => {
      for (const waiter of [...waiters]) {
        if (acknowledged >= waiter.count || sendingDone) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    };
    const context: FaultContext = {
      rig,
      elapsed: () => (Date.now() - started) / 1000,
      mark: (what) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`),
      untilAcknowledged: (count) =>
        new Promise<void>((resolve) => {
          waiters.push({ count, resolve });
          wake();
        }),
      sleep,
      sendingDone: () => sendingDone,
    };
    const sending = runWorkload(options, inputs.conversations, {
      messages: plan.messages,
      ratePerSecond: plan.ratePerSecond,
      onAcknowledged: (count) => {
        acknowledged = count;
        if (waiters.length > 0) wake();
      },
    }).finally(() => {
      sendingDone = true;
      wake();
    });
    // Both run to the end even when one fails, so no fault is left half-done.
    const [sent, faulted] = await Promise.allSettled([
      sending.then((run) => {
        context.mark(`all ${run.acknowledged.toLocaleString("en")} messages acknowledged`);
        return run;
      }),
      plan.faults(context),
    ]);
    if (sent.status === "rejected") throw sent.reason;
    if (faulted.status === "rejected") throw faulted.reason;
    result.workload = { retries: sent.value.retries, failures: sent.value.failures };
    result.timings.sendSeconds = sent.value.sendSeconds;
    const drain = await waitForDrain(inputs, plan.drainTimeoutMs);
    result.drained = drain.drained;
    result.timings.drainSeconds = drain.seconds;
    if (!drain.drained)
      context.mark(`not drained after ${drain.seconds} s: ${JSON.stringify(drain.missing)}`);
    // Anything still in flight would show up as a duplicate now.
    await sleep(2000);
    context.mark(`Slack Web API calls: ${slackCalls(rig)}`);
    result.report = await checkRun(inputs);
    result.timings.totalSeconds = (Date.now() - setupStartedAt) / 1000;
    result.ok = !reportFailed(result.report);
  } catch (error) {
    result.error = (error as Error).stack ?? String(error);
    if (inputs.conversations.length > 0) {
      result.report = await checkRun(inputs).catch(() => null);
    }
    result.timings.totalSeconds = (Date.now() - setupStartedAt) / 1000;
  }
  result.brokerLog = rig.logSummary();
  return result;
}

export interface Scenario {
  /** Short name, as FAULTS=<name,...> selects it. */
  name: string;
  /** The fault, in a few words, for the table. */
  fault: string;
  /** One paragraph for docs/reliability.md: what the scenario does and what it shows. */
  description: string;
  run(): Promise<ScenarioResult>;
}

export interface PrivateServices {
  nats: PrivateService;
  postgres: PrivateService;
}

/** How the broker reaches the private services, and anything the plan needs from that (e.g. proxies). */
export interface Route<T> {
  rig: RigOptions;
  extra: T;
  close(): Promise<void>;
}

/**
 * Runs a plan on a fresh private nats-server and PostgreSQL, the broker talking to them directly
 * unless `route` says how (e.g. through proxies); everything is stopped and deleted afterwards.
 */
export async function runOnPrivateServices<T = null>(
  scenario: Pick<Scenario, "name" | "fault">,
  plan: (services: PrivateServices, extra: T) => RunPlan,
  route?: (services: PrivateServices) => Promise<Route<T>>,
): Promise<ScenarioResult> {
  const setupStartedAt = Date.now();
  const nats = await startPrivateNats();
  try {
    const postgres = await startPrivatePostgres();
    try {
      const services = { nats, postgres };
      const routed: Route<T> = route
        ? await route(services)
        : {
            rig: { natsServers: [nats.url], postgresUrl: postgres.url },
            extra: null as T,
            close: async () => {},
          };
      try {
        const rig = await startRig(routed.rig);
        try {
          return await runPlan(
            scenario.name,
            scenario.fault,
            rig,
            plan(services, routed.extra),
            setupStartedAt,
          );
        } finally {
          await rig.close();
        }
      } finally {
        await routed.close();
      }
    } finally {
      await postgres.destroy();
    }
  } finally {
    await nats.destroy();
  }
}
