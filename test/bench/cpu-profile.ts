// Reads a V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) and sums it up: time spent in each
// function itself (self time) and with what it called (total time), and self time per area of code.
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileFrame {
  /** `function (file:line)`, the file relative to the repository or named by its package. */
  name: string;
  area: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  /** Profiled wall time, in ms. */
  durationMs: number;
  /** Time the thread was running JavaScript, GC or native code (everything but `(idle)`), in ms. */
  busyMs: number;
  /** Functions by self time, highest first. */
  bySelf: ProfileFrame[];
  /** Functions of this repository by total time, highest first. */
  projectByTotal: ProfileFrame[];
  /** Self time per area (a folder of this repository, a package, Node.js internals, GC), highest first. */
  areas: Array<{ area: string; selfMs: number }>;
  /**
   * Self time charged to the nearest caller that is a package or this repository's code: socket
   * writes under `pg` count for `pg`. Node.js internals with no such caller stay themselves.
   */
  owners: Array<{ area: string; selfMs: number }>;
}

/** Areas that do work on someone else's behalf: their time is charged to the caller in `owners`. */
const servantAreas = new Set(["(native)", "Node.js internals", "(program)"]);

/** Where a frame's code lives: `broker/router`, `@nats-io/nats-core`, `node:internal`, `(garbage collector)`. */
function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  // fetch() is undici, bundled in Node.js: worth telling apart from the rest of the internals.
  if (url.startsWith("node:internal/deps/undici")) return "undici (fetch)";
  if (url.startsWith("node:")) return "Node.js internals";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = path.slice(modules + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? "node_modules");
  }
  const inRepo = relative(repoRoot, path);
  if (inRepo.startsWith("..")) return path;
  const parts = inRepo.split("/");
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? inRepo);
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (url === "") return name;
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf("/node_modules/");
  const where = modules >= 0 ? path.slice(modules + "/node_modules/".length) : relative(repoRoot, path);
  return `${name} (${where}:${lineNumber + 1})`;
}

/** A span of the monotonic clock, in µs, as `process.hrtime` and V8's profile timestamps count it. */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** The monotonic clock now, in µs: V8 stamps profile samples with the same clock (CLOCK_MONOTONIC). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Sums the profile up; with `window`, only the samples taken inside it (e.g. without start-up). */
export async function summariseProfile(
  file: string,
  window: ProfileWindow | null = null,
  top = 15,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length === 0 || deltas.length !== samples.length) {
    throw new Error("the profile has no samples with time deltas");
  }
  // Self time per node: each delta is the time before its sample, charged to that sample.
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let firstUs = Number.NaN;
  let lastUs = Number.NaN;
  for (let i = 0; i < samples.length; i++) {
    const delta = Math.max(0, deltas[i] as number);
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    if (Number.isNaN(firstUs)) firstUs = at - delta;
    lastUs = at;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  if (Number.isNaN(firstUs)) throw new Error("no sample of the profile falls inside the window");
  // Total time per node: its self time plus its children's totals.
  const totalUs = new Map<number, number>();
  const totalOf = (id: number): number => {
    const known = totalUs.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    let sum = selfUs.get(id) ?? 0;
    for (const child of node?.children ?? []) sum += totalOf(child);
    totalUs.set(id, sum);
    return sum;
  };
  for (const node of profile.nodes) totalOf(node.id);

  // Per function: self time summed; total time summed over nodes that are not inside another node
  // of the same function (recursion counted once).
  const frames = new Map<string, ProfileFrame>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const hasAncestorNamed = (id: number, name: string): boolean => {
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) {
      const parent = byId.get(p);
      if (parent && frameName(parent) === name) return true;
    }
    return false;
  };
  const areas = new Map<string, number>();
  const owners = new Map<string, number>();
  const ownerOf = (node: ProfileNode): string => {
    const own = areaOf(node.callFrame.url, node.callFrame.functionName);
    if (!servantAreas.has(own)) return own;
    for (let p = parentOf.get(node.id); p !== undefined; p = parentOf.get(p)) {
      const parent = byId.get(p);
      const area = parent ? areaOf(parent.callFrame.url, parent.callFrame.functionName) : "(root)";
      if (!servantAreas.has(area) && area !== "(root)") return area;
    }
    return own;
  };
  let idleUs = 0;
  for (const node of profile.nodes) {
    const name = frameName(node);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    const self = selfUs.get(node.id) ?? 0;
    if (node.callFrame.functionName === "(idle)") idleUs += self;
    const frame = frames.get(name) ?? { name, area, selfMs: 0, totalMs: 0 };
    frame.selfMs += self / 1000;
    if (!hasAncestorNamed(node.id, name)) frame.totalMs += (totalUs.get(node.id) ?? 0) / 1000;
    frames.set(name, frame);
    areas.set(area, (areas.get(area) ?? 0) + self / 1000);
    if (self > 0) {
      const owner = ownerOf(node);
      owners.set(owner, (owners.get(owner) ?? 0) + self / 1000);
    }
  }
  const durationMs = (lastUs - firstUs) / 1000;
  const all = [...frames.values()];
  const skip = new Set(["(idle)", "(root)"]);
  return {
    durationMs,
    busyMs: durationMs - idleUs / 1000,
    bySelf: all
      .filter((f) => !skip.has(f.name))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
    projectByTotal: all
      .filter(
        (f) =>
          /^(broker|policies|connectors)\//.test(f.area) || /^(broker|policies|connectors)$/.test(f.area),
      )
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, top),
    areas: sortedAreas(areas),
    owners: sortedAreas(owners),
  };
}

function sortedAreas(areas: Map<string, number>): Array<{ area: string; selfMs: number }> {
  return [...areas.entries()]
    .filter(([area]) => area !== "(idle)")
    .map(([area, selfMs]) => ({ area, selfMs }))
    .sort((a, b) => b.selfMs - a.selfMs);
}
