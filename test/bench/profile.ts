// The hot path, profiled: one broker child process under `node --cpu-prof`, the mixed workload sent
// through the HTTP API as fast as it is accepted (intake, routing, storing and relaying all busy),
// then the broker stopped so V8 writes the profile, and the main thread's profile summed up.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicUs, summariseProfile, type ProfileSummary, type ProfileWindow } from "./cpu-profile.ts";
import { startDeployment, type Deployment } from "./deployment.ts";
import { describe } from "./end-to-end.ts";
import { errorText } from "./util.ts";
import { RunPath, runWorkload, type RunResult, type WorkloadSettings } from "./workload.ts";

export interface ProfileSettings {
  workload: WorkloadSettings;
  partitions: number;
  poolSize: number;
  messages: number;
  httpInFlight: number;
  /** Keep the .cpuprofile files here; a temporary directory (removed) when unset. */
  keepDir: string | null;
}

export interface ProfileOutcome {
  run: RunResult | null;
  summary: ProfileSummary | null;
  /** Where the profile was kept, when it was. */
  file: string | null;
  errors: string[];
}

export async function benchProfile(
  settings: ProfileSettings,
  log: (line: string) => void,
): Promise<ProfileOutcome> {
  const outcome: ProfileOutcome = { run: null, summary: null, file: null, errors: [] };
  const dir = settings.keepDir ?? (await mkdtemp(join(tmpdir(), "ws-bench-profile-")));
  let deployment: Deployment | undefined;
  let window: ProfileWindow | null = null;
  try {
    deployment = await startDeployment({
      brokers: 1,
      partitions: settings.partitions,
      poolSize: settings.poolSize,
      profileDir: dir,
    });
    const fromUs = monotonicUs();
    outcome.run = await runWorkload(deployment, settings.workload, {
      path: RunPath.http,
      ratePerSecond: null,
      messages: settings.messages,
      maxInFlight: settings.httpInFlight,
      tag: "profile",
    });
    window = { fromUs, toUs: monotonicUs() };
    log(describe(outcome.run));
  } catch (error) {
    outcome.errors.push(errorText(error));
  } finally {
    // SIGTERM: the broker closes and exits, and V8 writes the profile on the way out.
    outcome.errors.push(...((await deployment?.close()) ?? []));
  }
  // A broker that never got to the run (it did not start) wrote a profile of nothing worth reading.
  if (outcome.run === null) {
    if (settings.keepDir === null) await rm(dir, { recursive: true, force: true });
    return outcome;
  }
  try {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (others are
    // the module loader's).
    const files = (await readdir(dir)).filter((name) => /\.0\.\d+\.cpuprofile$/.test(name));
    const main = files.sort().pop();
    if (main === undefined) throw new Error(`no main-thread profile in ${dir}`);
    outcome.summary = await summariseProfile(join(dir, main), window);
    if (settings.keepDir !== null) outcome.file = join(dir, main);
  } catch (error) {
    outcome.errors.push(`reading the profile: ${errorText(error)}`);
  } finally {
    if (settings.keepDir === null) await rm(dir, { recursive: true, force: true });
  }
  return outcome;
}
