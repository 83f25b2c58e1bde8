// A small TCP proxy for network faults between the broker and a service, switchable at run time:
// pass, delay every chunk, reset every connection, or black-hole the traffic.
//
// A black hole holds bytes instead of dropping them: a real one drops packets, and TCP sends them
// again once the path is back, so a connection that outlives a short black hole delivers
// everything, late and in order. Dropping bytes inside a stream would corrupt it instead.
import { createServer, connect, type Server, type Socket } from "node:net";

export const ProxyModeKind = {
  /** Forward at once. */
  pass: "pass",
  /** Forward every chunk, both ways, after `ms`. */
  delay: "delay",
  /** Reset every open connection, and every new one as soon as it is accepted. */
  reset: "reset",
  /** Accept connections, forward nothing, answer nothing, until the mode changes. */
  blackhole: "blackhole",
} as const;
export type ProxyModeKind = (typeof ProxyModeKind)[keyof typeof ProxyModeKind];

export type ProxyMode =
  | { kind: typeof ProxyModeKind.pass }
  | { kind: typeof ProxyModeKind.delay; ms: number }
  | { kind: typeof ProxyModeKind.reset }
  | { kind: typeof ProxyModeKind.blackhole };

export const ProxyMode = {
  pass: { kind: ProxyModeKind.pass },
  delay: (ms: number): ProxyMode => ({ kind: ProxyModeKind.delay, ms }),
  reset: { kind: ProxyModeKind.reset },
  blackhole: { kind: ProxyModeKind.blackhole },
} as const satisfies Record<string, ProxyMode | ((ms: number) => ProxyMode)>;

export interface ProxyOptions {
  /** Where connections go. */
  target: { host: string; port: number };
  /** The port the proxy listens on, on 127.0.0.1. @default a free one */
  port?: number;
  /** The mode it starts in. @default pass */
  mode?: ProxyMode;
}

export interface ProxyStats {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections the proxy reset (mode `reset`). */
  reset: number;
  /** Connections open now. */
  open: number;
}

export interface TcpProxy {
  readonly port: number;
  /** `127.0.0.1:<port>`, to put into a service URL in place of the service's own address. */
  readonly address: string;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): void;
  stats(): ProxyStats;
  /** Closes the listener and destroys every connection. */
  close(): Promise<void>;
}

/** Above this many bytes queued one way, the sending side is paused until the queue drains. */
const highWaterBytes = 4 * 1024 * 1024;

interface Chunk {
  data: Buffer;
  /** When it may be written, ms since the epoch; Infinity while black-holed. */
  releaseAt: number;
}

/** One direction of a connection: chunks written to `to` in arrival order, each at its time. */
class Lane {
  #queue: Chunk[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #ended = false;
  #lastRelease = 0;
  /** Null until the upstream connection exists. */
  to: Socket | null = null;

  constructor(
    private readonly from: Socket,
    private readonly delayOf: () => number,
  ) {}

  push(data: Buffer): void {
    // Never before an earlier chunk: a change of mode must not reorder the stream.
    const releaseAt = Math.max(Date.now() + this.delayOf(), this.#lastRelease);
    this.#lastRelease = releaseAt;
    this.#queue.push({ data, releaseAt });
    this.#queuedBytes += data.length;
    if (this.#queuedBytes > highWaterBytes) this.from.pause();
    this.pump();
  }

  /** The source ended: end the destination once everything queued is written. */
  end(): void {
    this.#ended = true;
    this.pump();
  }

  /** Re-times what is queued after a mode change (a black hole holds it; leaving one releases it). */
  retime(): void {
    const delay = this.delayOf();
    const now = Date.now();
    for (const chunk of this.#queue) {
      chunk.releaseAt = delay === Infinity ? Infinity : Math.min(chunk.releaseAt, now + delay);
    }
    this.#lastRelease = this.#queue.at(-1)?.releaseAt ?? (delay === Infinity ? Infinity : now);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.pump();
  }

  pump(): void {
    const to = this.to;
    if (!to || to.destroyed || this.#timer) return;
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Chunk;
      if (head.releaseAt > now) {
        if (head.releaseAt !== Infinity) {
          this.#timer = setTimeout(() => {
            this.#timer = null;
            this.pump();
          }, head.releaseAt - now);
        }
        return;
      }
      this.#queue.shift();
      this.#queuedBytes -= head.data.length;
      to.write(head.data);
    }
    if (this.#queuedBytes <= highWaterBytes && this.from.isPaused()) this.from.resume();
    if (this.#ended) to.end();
  }

  isEmpty(): boolean {
    return this.#queue.length === 0;
  }

  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

export async function startProxy(options: ProxyOptions): Promise<TcpProxy> {
  let mode: ProxyMode = options.mode ?? ProxyMode.pass;
  const stats = { accepted: 0, reset: 0 };
  const links = new Set<Link>();
  const delayOf = () =>
    mode.kind === ProxyModeKind.blackhole ? Infinity : mode.kind === ProxyModeKind.delay ? mode.ms : 0;

  class Link {
    readonly up: Lane;
    down: Lane | null = null;
    upstream: Socket | null = null;

    constructor(readonly client: Socket) {
      // No Nagle: the proxy must not add its own delay to the small writes of NATS and PostgreSQL.
      client.setNoDelay(true);
      this.up = new Lane(client, delayOf);
      client.on("data", (data: Buffer) => this.up.push(data));
      client.on("end", () => this.up.end());
      client.on("error", () => this.destroy());
      client.on("close", () => this.forgetWhenClosed());
    }

    /** Opens the upstream connection (not while black-holed: nothing may reach the service). */
    connectUpstream(): void {
      if (this.upstream || this.client.destroyed) return;
      const upstream = connect({ ...options.target, noDelay: true });
      this.upstream = upstream;
      const down = new Lane(upstream, delayOf);
      down.to = this.client;
      this.down = down;
      upstream.on("data", (data: Buffer) => down.push(data));
      upstream.on("end", () => down.end());
      // A refused or broken upstream connection closes the client's, as a failed path would.
      upstream.on("error", () => this.destroy());
      upstream.on("close", () => this.forgetWhenClosed());
      upstream.once("connect", () => {
        this.up.to = upstream;
        this.up.pump();
      });
    }

    retime(): void {
      this.up.retime();
      this.down?.retime();
    }

    reset(): void {
      stats.reset += 1;
      links.delete(this);
      this.up.clear();
      this.down?.clear();
      if (!this.client.destroyed) this.client.resetAndDestroy();
      if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
    }

    destroy(): void {
      links.delete(this);
      this.up.clear();
      this.down?.clear();
      this.client.destroy();
      this.upstream?.destroy();
    }

    /** Both sides closed cleanly (each lane ended the other side once flushed): nothing left to do. */
    forgetWhenClosed(): void {
      if (this.client.destroyed && (this.upstream === null || this.upstream.destroyed)) {
        if (this.upstream !== null || this.up.isEmpty()) links.delete(this);
      }
    }
  }

  // Half-open kept: a client's FIN reaches the service only after everything it sent before it.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    stats.accepted += 1;
    if (mode.kind === ProxyModeKind.reset) {
      stats.reset += 1;
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const link = new Link(client);
    links.add(link);
    if (mode.kind !== ProxyModeKind.blackhole) link.connectUpstream();
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy has no address");
  const port = address.port;

  return {
    port,
    address: `127.0.0.1:${port}`,
    mode: () => mode,
    setMode(next) {
      mode = next;
      if (next.kind === ProxyModeKind.reset) {
        for (const link of [...links]) link.reset();
        return;
      }
      for (const link of links) {
        if (next.kind !== ProxyModeKind.blackhole) link.connectUpstream();
        link.retime();
      }
    },
    stats: () => ({ ...stats, open: links.size }),
    async close() {
      for (const link of [...links]) link.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
