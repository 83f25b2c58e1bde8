// Where the machine's CPU time went during a run: /proc/stat for the whole machine (including the
// hypervisor's steal), /proc/<pid>/stat for this process, the broker child processes, PostgreSQL's
// processes and nats-server. Read-only; on a system without /proc every figure is NaN.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface CpuSnapshot {
  at: number;
  /** Clock ticks per state summed over all cores: [busy, idle, iowait, steal]. */
  machine: { busy: number; idle: number; iowait: number; steal: number } | null;
  /** Clock ticks of user + system time per process id, with the process's group. */
  processes: Map<number, { group: CpuGroup; ticks: number }>;
}

export type CpuGroup = "this process" | "brokers" | "PostgreSQL" | "nats-server" | "other";

export interface CpuShare {
  /** Cores' worth of busy time over the interval (2.00 = two cores busy all the time). */
  machineBusyCores: number;
  stealCores: number;
  iowaitCores: number;
  cores: Record<CpuGroup, number>;
}

let ticksPerSecond: number | null = null;
/** Clock ticks per second (`getconf CLK_TCK`), for the tick counts in `/proc/<pid>/stat`. */
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function machineTicks(): CpuSnapshot["machine"] {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) as number[];
    return {
      busy: (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0),
      idle: idle ?? 0,
      iowait: iowait ?? 0,
      steal: steal ?? 0,
    };
  } catch {
    return null;
  }
}

function groupOf(pid: number, comm: string, brokerPids: ReadonlySet<number>): CpuGroup {
  if (pid === process.pid) return "this process";
  if (brokerPids.has(pid)) return "brokers";
  if (comm === "postgres" || comm.startsWith("postgres")) return "PostgreSQL";
  if (comm === "nats-server") return "nats-server";
  return "other";
}

function processTicks(brokerPids: ReadonlySet<number>): CpuSnapshot["processes"] {
  const processes: CpuSnapshot["processes"] = new Map();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return processes;
  }
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // comm is in parentheses and may contain spaces; the fields after it are space-separated.
      const open = stat.indexOf("(");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(open + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      // utime and stime are fields 14 and 15 of the line: 12th and 13th after comm.
      const ticks = Number(fields[11]) + Number(fields[12]);
      const pid = Number(name);
      processes.set(pid, { group: groupOf(pid, comm, brokerPids), ticks });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return processes;
}

/** `brokerPids`: the broker child processes, counted as their own group. */
export function cpuSnapshot(brokerPids: Iterable<number> = []): CpuSnapshot {
  return { at: performance.now(), machine: machineTicks(), processes: processTicks(new Set(brokerPids)) };
}

/**
 * CPU use between two snapshots. A process that ended in between is lost from its group (its time
 * is only in the machine total), so _other_ is what the machine spent beyond the named groups:
 * other processes, ended ones, and kernel work such as interrupts.
 */
export function cpuShare(start: CpuSnapshot, end: CpuSnapshot): CpuShare {
  const seconds = (end.at - start.at) / 1000;
  const hz = clockTicks();
  const cores = (ticks: number) => ticks / hz / seconds;
  const ticks: Record<CpuGroup, number> = {
    "this process": 0,
    brokers: 0,
    PostgreSQL: 0,
    "nats-server": 0,
    other: 0,
  };
  for (const [pid, now] of end.processes) {
    ticks[now.group] += now.ticks - (start.processes.get(pid)?.ticks ?? 0);
  }
  const groups: Record<CpuGroup, number> = {
    "this process": cores(ticks["this process"]),
    brokers: cores(ticks.brokers),
    PostgreSQL: cores(ticks.PostgreSQL),
    "nats-server": cores(ticks["nats-server"]),
    other: cores(ticks.other),
  };
  if (!start.machine || !end.machine) {
    return { machineBusyCores: Number.NaN, stealCores: Number.NaN, iowaitCores: Number.NaN, cores: groups };
  }
  const machineBusyCores = cores(end.machine.busy - start.machine.busy);
  const named = groups["this process"] + groups.brokers + groups.PostgreSQL + groups["nats-server"];
  return {
    machineBusyCores,
    stealCores: cores(end.machine.steal - start.machine.steal),
    iowaitCores: cores(end.machine.iowait - start.machine.iowait),
    cores: { ...groups, other: Math.max(0, machineBusyCores - named) },
  };
}
