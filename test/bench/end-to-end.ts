// Part 2, the broker end to end: one broker child process with the fake Slack as the cloud, the mixed
// workload through the HTTP API and published straight to INGRESS, at increasing offered rates until
// the broker no longer keeps up, then as fast as it accepts. The decision chains are checked after.
import { verifyDecisionChains } from "../../broker/db/decision-chain.ts";
import { startDeployment, type Deployment } from "./deployment.ts";
import { errorText } from "./util.ts";
import { RunPath, runWorkload, type RunResult, type WorkloadSettings } from "./workload.ts";

export interface EndToEndSettings {
  workload: WorkloadSettings;
  partitions: number;
  poolSize: number;
  /** Offered rates, messages per second, lowest first. */
  rates: number[];
  /** Length of each offered-rate run, in seconds. */
  runSeconds: number;
  /** Messages of the open-loop maximum run. */
  maxMessages: number;
  /** Requests in flight at most on the HTTP path. */
  httpInFlight: number;
  /** Publishes in flight at most on the INGRESS path. */
  natsInFlight: number;
  /** Unmeasured HTTP messages before the first run. */
  warmupMessages: number;
  /** Offered rates up to this one always run, even after saturation: the latency target is set there. */
  targetRate: number;
  /** Messages of each of the two runs that price relaying (none and all relayed); 0 skips them. */
  relayCostMessages: number;
}

export interface EndToEndOutcome {
  runs: RunResult[];
  /**
   * The INGRESS path as fast as accepted with every conversation sensitive (nothing relayed) and
   * with none (everything relayed): what relaying adds per message.
   */
  relayCost: { noneRelayed: RunResult; allRelayed: RunResult } | null;
  /** Per path, the first offered rate the broker did not keep up with, if any. */
  saturatedAt: Partial<Record<RunPath, number>>;
  /** The decision chains of the whole part, checked after the last run. */
  chains: { ok: boolean; decisions: number } | null;
  /** Time to read the chain heads, this run's database, before and after the fix in this change. */
  chainHeads: ChainHeadTiming | null;
  brokerLog: string[];
  errors: string[];
}

export interface ChainHeadTiming {
  decisions: number;
  partitions: number;
  /** Median of a few executions, in ms. */
  distinctOnMs: number;
  lateralMs: number;
}

/** A run kept up when it stored and relayed at least 90 % of the offered rate. */
export function keptUp(run: RunResult): boolean {
  const rate = run.spec.ratePerSecond;
  if (rate === null) return true;
  return run.drained && run.storedPerSecond >= 0.9 * rate && run.acceptedPerSecond >= 0.9 * rate;
}

export async function benchEndToEnd(
  settings: EndToEndSettings,
  log: (line: string) => void,
): Promise<EndToEndOutcome> {
  const outcome: EndToEndOutcome = {
    runs: [],
    relayCost: null,
    saturatedAt: {},
    chains: null,
    chainHeads: null,
    brokerLog: [],
    errors: [],
  };
  let deployment: Deployment | undefined;
  try {
    deployment = await startDeployment({
      brokers: 1,
      partitions: settings.partitions,
      poolSize: settings.poolSize,
    });
    if (settings.warmupMessages > 0) {
      const warmup = await runWorkload(deployment, settings.workload, {
        path: RunPath.http,
        ratePerSecond: null,
        messages: settings.warmupMessages,
        maxInFlight: 32,
        tag: "warmup",
      });
      outcome.errors.push(...warmup.errors.map((e) => `warm-up: ${e}`));
    }
    for (const path of [RunPath.http, RunPath.nats]) {
      const maxInFlight = path === RunPath.http ? settings.httpInFlight : settings.natsInFlight;
      const short = path === RunPath.http ? "http" : "nats";
      for (const rate of settings.rates) {
        if (outcome.saturatedAt[path] !== undefined && rate > settings.targetRate) break;
        const run = await runWorkload(deployment, settings.workload, {
          path,
          ratePerSecond: rate,
          messages: Math.max(1, Math.round(rate * settings.runSeconds)),
          maxInFlight,
          tag: `${short}-${rate}`,
        });
        outcome.runs.push(run);
        log(describe(run));
        if (!keptUp(run)) outcome.saturatedAt[path] ??= rate;
      }
      const run = await runWorkload(deployment, settings.workload, {
        path,
        ratePerSecond: null,
        messages: settings.maxMessages,
        maxInFlight,
        tag: `${short}-max`,
      });
      outcome.runs.push(run);
      log(describe(run));
    }
    if (settings.relayCostMessages > 0) {
      const priced = async (sensitivePercent: number, tag: string) => {
        const run = await runWorkload(
          deployment as Deployment,
          { ...settings.workload, sensitivePercent },
          {
            path: RunPath.nats,
            ratePerSecond: null,
            messages: settings.relayCostMessages,
            maxInFlight: settings.natsInFlight,
            tag,
          },
        );
        log(`${describe(run)} (${sensitivePercent} % sensitive)`);
        return run;
      };
      outcome.relayCost = {
        noneRelayed: await priced(100, "none-relayed"),
        allRelayed: await priced(0, "all-relayed"),
      };
    }
    outcome.chainHeads = await timeChainHeads(deployment, settings.partitions);
    const check = await verifyDecisionChains(deployment.db.pool);
    outcome.chains = { ok: check.ok, decisions: check.decisions };
  } catch (error) {
    outcome.errors.push(errorText(error));
  } finally {
    outcome.brokerLog = deployment ? problemLines(deployment) : [];
    outcome.errors.push(...((await deployment?.close()) ?? []));
  }
  return outcome;
}

export function describe(run: RunResult): string {
  const rate = run.spec.ratePerSecond === null ? "max" : `${run.spec.ratePerSecond}/s`;
  return (
    `  ${run.spec.path} at ${rate}, ${run.brokers} broker(s): accepted ${Math.round(run.acceptedPerSecond)}/s, ` +
    `stored ${Math.round(run.storedPerSecond)}/s, relayed ${Math.round(run.relayedPerSecond)}/s, ` +
    `p99 accept to stored ${Math.round(run.acceptToStored.p99)} ms`
  );
}

/** Warnings and errors the brokers logged (pino levels 40 and up), distinct, at most ten. */
export function problemLines(deployment: Deployment): string[] {
  const seen = new Set<string>();
  for (const broker of deployment.brokers) {
    for (const line of broker.output().split("\n")) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) < 40) continue;
        seen.add(`${entry.msg ?? ""}${entry.err?.message ? `: ${entry.err.message}` : ""}`.slice(0, 200));
      } catch {
        if (line.trim() !== "") seen.add(line.trim().slice(0, 200));
      }
    }
  }
  return [...seen].slice(0, 10);
}

/**
 * The chain-head query as it was (DISTINCT ON over `= ANY`) and as it is now (one LATERAL index
 * step per partition), each run five times on this part's database: the cost the fix removed, at
 * this many decisions. Both return the same rows; that is checked too.
 */
async function timeChainHeads(deployment: Deployment, partitions: number): Promise<ChainHeadTiming> {
  const all = Array.from({ length: partitions }, (_, p) => p);
  const distinctOn = `SELECT DISTINCT ON (chain_partition) chain_partition, chain_seq, hash FROM routing_decisions
    WHERE chain_partition = ANY($1::int[]) ORDER BY chain_partition, chain_seq DESC`;
  const lateral = `SELECT p.chain_partition, h.chain_seq, h.hash
    FROM unnest($1::int[]) AS p(chain_partition)
      CROSS JOIN LATERAL (SELECT chain_seq, hash FROM routing_decisions d
        WHERE d.chain_partition = p.chain_partition ORDER BY d.chain_seq DESC LIMIT 1) h`;
  const pool = deployment.db.pool;
  const timed = async (sql: string) => {
    const times: number[] = [];
    let rows = "";
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const result = await pool.query<{ chain_partition: number; chain_seq: string; hash: string }>(sql, [
        all,
      ]);
      times.push(performance.now() - start);
      rows = JSON.stringify(result.rows.sort((a, b) => a.chain_partition - b.chain_partition));
    }
    return { ms: times.sort((a, b) => a - b)[2] as number, rows };
  };
  const before = await timed(distinctOn);
  const after = await timed(lateral);
  if (before.rows !== after.rows) throw new Error("the two chain-head queries returned different rows");
  const decisions = (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM routing_decisions"))
    .rows[0]?.n;
  return { decisions: decisions ?? 0, partitions, distinctOnMs: before.ms, lateralMs: after.ms };
}
