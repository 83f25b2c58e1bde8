// Private nats-server and PostgreSQL instances for the fault suite, on free loopback ports of their
// own, so they can be stopped, killed and restarted without touching the shared ones (4222, 5432).
// Everything started here is registered and removed by `stopAllServices()`, and killed on exit.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** The nats-server binary (Debian's 2.9.10 on the development machines). */
export const natsServerBinary = process.env.FAULTS_NATS_SERVER ?? "/usr/sbin/nats-server";
/** Where PostgreSQL's initdb and postgres are. */
export const postgresBin = process.env.FAULTS_POSTGRES_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PrivateService {
  /** How clients reach it: `nats://127.0.0.1:<port>` or `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** A name for logs and reports, e.g. "nats" or "n2". */
  readonly name: string;
  /** Whether the process is running now. */
  running(): boolean;
  /** Graceful stop (nats-server SIGTERM, PostgreSQL fast shutdown); the data stays. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the data stays as the process left it on disk. */
  kill(): Promise<void>;
  /** Stops it gracefully when running, then starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Starts it again after stop() or kill(), on the same port with the same data. */
  start(): Promise<void>;
  /** The last lines the process wrote, for a report when something goes wrong. */
  output(): string;
  /** Kills it and deletes its data. */
  destroy(): Promise<void>;
}

interface Registered {
  /** Stops the process and deletes its data. */
  destroy(): Promise<void>;
  /** The same, synchronously, for process exit. */
  destroySync(): void;
}

const registry = new Set<Registered>();
let exitHookInstalled = false;

function register(entry: Registered): void {
  registry.add(entry);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crash of the suite must not leave servers behind: kill whatever is still registered.
    process.once("exit", () => {
      for (const item of registry) item.destroySync();
    });
  }
}

/** Stops every private service started so far and deletes its data; safe to call twice. */
export async function stopAllServices(): Promise<void> {
  const entries = [...registry];
  registry.clear();
  await Promise.allSettled(entries.map((entry) => entry.destroy()));
}

/** A TCP port nothing listens on now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, timeoutMs: number, what: string, alive: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (!alive()) throw new Error(`${what} exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} in ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The last `max` lines of a process's output. */
function tail(max: number) {
  let lines: string[] = [];
  return {
    push(chunk: Buffer) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      if (lines.length > max * 2) lines = lines.slice(-max);
    },
    text: () => lines.slice(-max).join("\n"),
  };
}

/** A child process that can be stopped, killed and started again with the same command. */
class Supervised {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  readonly log = tail(60);

  constructor(
    readonly name: string,
    private readonly command: () => {
      file: string;
      args: string[];
      uid?: number;
      gid?: number;
      cwd?: string;
    },
  ) {}

  running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  spawn(): void {
    const { file, args, uid, gid, cwd } = this.command();
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], uid, gid, cwd });
    child.stdout?.on("data", (chunk: Buffer) => this.log.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.log.push(chunk));
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("error", (err) => this.log.push(Buffer.from(`spawn failed: ${err.message}`)));
    this.#child = child;
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async signal(signal: NodeJS.Signals, graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  killSync(): void {
    if (this.running()) this.#child?.kill("SIGKILL");
  }
}

export interface NatsClusterOptions {
  /** The cluster's name, the same on every node. */
  name: string;
  /** This node's cluster (route) port. */
  port: number;
  /** Route URLs of the other nodes, e.g. `nats://127.0.0.1:<their cluster port>`. */
  routes: string[];
}

export interface PrivateNatsOptions {
  /** Client port. @default a free one */
  port?: number;
  /** `--server_name`; needed in a cluster. @default "nats" */
  serverName?: string;
  /** Join a cluster with these settings. @default none (a standalone server) */
  cluster?: NatsClusterOptions;
}

/**
 * A private nats-server with JetStream on 127.0.0.1 (`-a 127.0.0.1 -p <port> -js -sd <dir>`).
 * nats-server 2.9 flushes its store on SIGTERM; it has no `sync_interval` (see DESIGN.md).
 */
export async function startPrivateNats(options: PrivateNatsOptions = {}): Promise<PrivateService> {
  const port = options.port ?? (await freePort());
  const name = options.serverName ?? "nats";
  const storeDir = mkdtempSync(join(tmpdir(), `ws-faults-${name}-`));
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, "--server_name", name];
  if (options.cluster) {
    const { cluster } = options;
    args.push("--cluster_name", cluster.name, "--cluster", `nats://127.0.0.1:${cluster.port}`);
    if (cluster.routes.length > 0) args.push("--routes", cluster.routes.join(","));
  }
  const process_ = new Supervised(name, () => ({ file: natsServerBinary, args }));
  const start = async () => {
    process_.spawn();
    await waitForPort(port, 15_000, `nats-server ${name}`, () => process_.running());
  };
  const entry: Registered = {
    async destroy() {
      await process_.signal("SIGKILL");
      rmSync(storeDir, { recursive: true, force: true });
    },
    destroySync() {
      process_.killSync();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  register(entry);
  try {
    await start();
  } catch (error) {
    await entry.destroy();
    registry.delete(entry);
    throw new Error(`${(error as Error).message}\n${process_.log.text()}`, { cause: error });
  }
  return serviceHandle({ url: `nats://127.0.0.1:${port}`, port, name }, process_, "SIGTERM", start, entry);
}

/** The handle of a started service; `stopSignal` is its clean shutdown. */
function serviceHandle(
  where: { url: string; port: number; name: string },
  process_: Supervised,
  stopSignal: NodeJS.Signals,
  start: () => Promise<void>,
  entry: Registered,
): PrivateService {
  return {
    ...where,
    running: () => process_.running(),
    stop: () => process_.signal(stopSignal),
    kill: () => process_.signal("SIGKILL"),
    async restart() {
      await process_.signal(stopSignal);
      await start();
    },
    async start() {
      if (!process_.running()) await start();
    },
    output: () => process_.log.text(),
    async destroy() {
      registry.delete(entry);
      await entry.destroy();
    },
  };
}

/** The uid and gid of the `postgres` user: initdb and postgres refuse to run as root. */
function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** A directory under the system temp dir owned by the postgres user. */
function postgresOwnedDir(prefix: string, owner: { uid: number; gid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chownSync(dir, owner.uid, owner.gid);
  return dir;
}

async function waitForPostgres(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (error) {
      if (!alive()) throw new Error("postgres exited before accepting connections", { cause: error });
      if (Date.now() > deadline) throw new Error(`postgres not ready in ${timeoutMs} ms`, { cause: error });
    } finally {
      await client.end().catch(() => {});
    }
    await sleep(100);
  }
}

/**
 * A private PostgreSQL 15 cluster (initdb with trust auth, then `postgres -p <port> -k <sockdir>
 * -c listen_addresses=127.0.0.1`), run as the postgres user straight from our process so its
 * postmaster can be signalled: SIGINT is a fast shutdown, SIGKILL a crash.
 */
export async function startPrivatePostgres(options: { port?: number } = {}): Promise<PrivateService> {
  const port = options.port ?? (await freePort());
  const owner = postgresUser();
  const root = postgresOwnedDir("ws-faults-pg-", owner);
  const dataDir = join(root, "data");
  const socketDir = postgresOwnedDir("ws-faults-pgsock-", owner);
  const process_ = new Supervised("postgres", () => ({
    file: join(postgresBin, "postgres"),
    args: [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-k",
      socketDir,
      "-c",
      "listen_addresses=127.0.0.1",
      // Small, since several of these may run beside the shared server on a small machine.
      "-c",
      "shared_buffers=64MB",
      "-c",
      "max_connections=100",
    ],
    ...owner,
    cwd: root,
  }));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    // After a SIGKILL the old backends may still hold the shared memory for a moment: try again.
    for (let attempt = 1; ; attempt++) {
      process_.spawn();
      try {
        await waitForPostgres(url, 30_000, () => process_.running());
        return;
      } catch (error) {
        if (attempt >= 10 || process_.running()) throw error;
        await sleep(300);
      }
    }
  };
  const entry: Registered = {
    async destroy() {
      await process_.signal("SIGKILL");
      rmSync(root, { recursive: true, force: true });
      rmSync(socketDir, { recursive: true, force: true });
    },
    destroySync() {
      process_.killSync();
      rmSync(root, { recursive: true, force: true });
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
  register(entry);
  try {
    execFileSync(
      join(postgresBin, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
      { uid: owner.uid, gid: owner.gid, stdio: "pipe", cwd: root },
    );
    await start();
  } catch (error) {
    const log = process_.log.text();
    await entry.destroy();
    registry.delete(entry);
    throw new Error(`private PostgreSQL did not start: ${(error as Error).message}\n${log}`, {
      cause: error,
    });
  }
  // SIGINT: PostgreSQL's fast shutdown (open sessions are ended).
  return serviceHandle({ url, port, name: "postgres" }, process_, "SIGINT", start, entry);
}
