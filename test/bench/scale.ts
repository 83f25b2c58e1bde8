// Part 5, scale: the same workload, as fast as it is accepted, against one and then two broker child
// processes sharing the database and the streams (each a fresh deployment). HTTP requests go
// round-robin to the brokers; on the INGRESS path the brokers share the partitions' consumers.
import { startDeployment, type Deployment } from "./deployment.ts";
import { describe, problemLines } from "./end-to-end.ts";
import { errorText } from "./util.ts";
import { RunPath, runWorkload, type RunResult, type WorkloadSettings } from "./workload.ts";

export interface ScaleSettings {
  workload: WorkloadSettings;
  partitions: number;
  poolSize: number;
  /** Broker processes per deployment, e.g. [1, 2]. */
  brokerCounts: number[];
  messages: number;
  httpInFlight: number;
  natsInFlight: number;
  /** Unmeasured HTTP messages before the runs of each deployment. */
  warmupMessages: number;
}

export interface ScaleOutcome {
  runs: RunResult[];
  brokerLog: string[];
  errors: string[];
}

export async function benchScale(
  settings: ScaleSettings,
  log: (line: string) => void,
): Promise<ScaleOutcome> {
  const outcome: ScaleOutcome = { runs: [], brokerLog: [], errors: [] };
  for (const brokers of settings.brokerCounts) {
    let deployment: Deployment | undefined;
    try {
      deployment = await startDeployment({
        brokers,
        partitions: settings.partitions,
        poolSize: settings.poolSize,
      });
      if (settings.warmupMessages > 0) {
        await runWorkload(deployment, settings.workload, {
          path: RunPath.http,
          ratePerSecond: null,
          messages: settings.warmupMessages,
          maxInFlight: 32,
          tag: `scale${brokers}-warmup`,
        });
      }
      for (const path of [RunPath.http, RunPath.nats]) {
        const run = await runWorkload(deployment, settings.workload, {
          path,
          ratePerSecond: null,
          messages: settings.messages,
          maxInFlight: path === RunPath.http ? settings.httpInFlight : settings.natsInFlight,
          tag: `scale${brokers}-${path === RunPath.http ? "http" : "nats"}`,
        });
        outcome.runs.push(run);
        log(describe(run));
      }
    } catch (error) {
      outcome.errors.push(`${brokers} broker(s): ${errorText(error)}`);
    } finally {
      if (deployment) outcome.brokerLog.push(...problemLines(deployment));
      outcome.errors.push(...((await deployment?.close()) ?? []));
    }
  }
  return outcome;
}
