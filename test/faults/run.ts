// `npm run test:faults`: runs every fault scenario in turn (FAULTS=<name,...> for some of them),
// prints one JSON line per scenario, writes docs/reliability.md, ends with "N passed, N failed",
// and exits 1 when a scenario lost, duplicated, leaked or reordered a message, or crashed.
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { Scenario, ScenarioResult } from "./harness.ts";
import { machineFacts, reliabilityMarkdown } from "./report.ts";
import { brokerSigkill } from "./scenarios/broker-sigkill.ts";
import { cloudOutage } from "./scenarios/cloud-outage.ts";
import { natsCluster } from "./scenarios/nats-cluster.ts";
import { natsRestart } from "./scenarios/nats-restart.ts";
import { natsSigkill } from "./scenarios/nats-sigkill.ts";
import { networkFaults } from "./scenarios/network.ts";
import { postgresRestart } from "./scenarios/postgres-restart.ts";
import { natsServerBinary, postgresBin, stopAllServices } from "./services.ts";

const scenarios: readonly Scenario[] = [
  brokerSigkill,
  natsRestart,
  postgresRestart,
  cloudOutage,
  networkFaults,
  natsCluster,
];
/** Run only when FAULTS names them: they fail on this machine for reasons outside the broker. */
const optInScenarios: readonly Scenario[] = [natsSigkill];

const defaultOutput = fileURLToPath(new URL("../../docs/reliability.md", import.meta.url));

/** The scenarios FAULTS names, in suite order; all of them when it is unset. */
function selected(): readonly Scenario[] {
  const names = (process.env.FAULTS ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return scenarios;
  const known = [...scenarios, ...optInScenarios];
  const unknown = names.filter((name) => !known.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown scenario(s) in FAULTS: ${unknown.join(", ")}; known: ${known.map((s) => s.name).join(", ")}`,
    );
    process.exit(2);
  }
  return known.filter((s) => names.includes(s.name));
}

/** The JSON line printed for a scenario: the figures and timings, not the long lists. */
function summaryLine(result: ScenarioResult): string {
  const { report } = result;
  return JSON.stringify({
    scenario: result.name,
    ok: result.ok,
    acknowledged: report?.acknowledged ?? null,
    lostOnPrem: report?.lostOnPrem ?? null,
    lostInCloud: report?.lostInCloud ?? null,
    duplicatesInCloud: report?.duplicatesInCloud ?? null,
    sensitiveInCloud: report?.sensitiveInCloud ?? null,
    orderViolations: report?.orderViolations ?? null,
    deadLettered: report?.deadLettered ?? null,
    unexpectedOnPrem: report?.unexpectedOnPrem ?? null,
    brokerExits: result.brokerExits.length,
    drained: result.drained,
    timings: result.timings,
    retries: result.workload?.retries ?? null,
    timeline: result.timeline,
    examples: report?.examples ?? [],
    brokerLog: result.brokerLog,
    error: result.error,
  });
}

function crashed(scenario: Scenario, error: unknown, startedAt: number): ScenarioResult {
  return {
    name: scenario.name,
    fault: scenario.fault,
    ok: false,
    error: (error as Error).stack ?? String(error),
    report: null,
    drained: false,
    timings: {
      setupSeconds: 0,
      sendSeconds: 0,
      drainSeconds: 0,
      totalSeconds: (Date.now() - startedAt) / 1000,
    },
    timeline: [],
    workload: null,
    brokerExits: [],
    brokerLog: {},
  };
}

// Stopped from outside (Ctrl-C, a CI timeout): exit, so the exit hooks kill what we started.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the private services and brokers`);
    process.exit(130);
  });
}

const chosen = selected();
const startedAt = new Date();
const loadAtStart = loadavg();
const outcomes: Array<{ scenario: Scenario; result: ScenarioResult }> = [];
for (const scenario of chosen) {
  const started = Date.now();
  console.error(`fault scenario ${scenario.name}: ${scenario.fault}`);
  let result: ScenarioResult;
  try {
    result = await scenario.run();
  } catch (error) {
    result = crashed(scenario, error, started);
  } finally {
    await stopAllServices();
  }
  outcomes.push({ scenario, result });
  console.log(summaryLine(result));
}

const passed = outcomes.filter(({ result }) => result.ok).length;
const failed = outcomes.length - passed;
const everyScenario = scenarios.every((s) => chosen.includes(s));
const output = process.env.FAULTS_OUTPUT ?? (everyScenario ? defaultOutput : null);
if (output) {
  const markdown = reliabilityMarkdown({
    command: process.env.FAULTS ? `FAULTS=${process.env.FAULTS} npm run test:faults` : "npm run test:faults",
    startedAt,
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: {
      ...machineFacts(natsServerBinary, postgresBin),
      loadAtStart,
      loadAtEnd: loadavg(),
    },
    scenarios: outcomes,
  });
  await writeFile(output, markdown);
  console.error(`wrote ${output}`);
} else {
  console.error("a subset ran: docs/reliability.md left as it was (set FAULTS_OUTPUT=<file> to write one)");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
