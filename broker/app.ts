// Composes the broker process: config -> policy, PostgreSQL, NATS, connectors, workers, HTTP.
import { connectorFactories, type Connector } from "../connectors/index.ts";
import { defaultPolicyPath } from "../policies/index.ts";
import { createVerifier } from "./auth/index.ts";
import type { Config } from "./config/index.ts";
import { migrate } from "./db/migrate.ts";
import { openPool } from "./db/pool.ts";
import type { FileIntakeDeps } from "./files/intake.ts";
import { openObjectStore } from "./files/store/index.ts";
import { buildHttpServer } from "./http/server.ts";
import { connectNats } from "./nats/connection.ts";
import type { ConsumerLoops } from "./nats/ordered-consumer.ts";
import { ensureTopology, topology } from "./nats/topology.ts";
import { startPolicyRuntime } from "./policy/runtime.ts";
import { ingressDeps } from "./ingress/accept.ts";
import { startRelay } from "./relay/worker.ts";
import { startRouter } from "./router/router.ts";
import { startStoreWorker, type StoreWorker } from "./store/worker.ts";
import { createLogger, type Logger } from "./telemetry/log.ts";

export interface Broker {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

export interface BrokerOptions {
  log?: Logger;
  /** Which workers run in this process. @default all */
  workers?: { router?: boolean; store?: boolean; relay?: boolean };
}

export async function startBroker(config: Config, options: BrokerOptions = {}): Promise<Broker> {
  const log = options.log ?? createLogger(config.log.level);
  const workers = { router: true, store: true, relay: true, ...options.workers };
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err) => log.error({ err }, "shutdown step failed"));
  };
  try {
    const pool = await openPool(config.postgres.url, config.postgres.poolSize);
    cleanups.push(() => pool.end());
    const migration = await migrate(pool);
    if (migration.applied.length > 0) log.info({ applied: migration.applied }, "migrations applied");

    const nats = await connectNats(config.nats.servers, `watershed-${process.pid}`);
    cleanups.push(() => nats.nc.drain());
    const topo = topology(config.nats.prefix, config.nats.partitions);
    await ensureTopology(nats.jsm, topo, config.nats);

    const policies = await startPolicyRuntime({
      pool,
      js: nats.js,
      prefix: config.nats.prefix,
      replicas: config.nats.replicas,
      seedFile: config.policy.file ?? defaultPolicyPath,
      log: log.child({ component: "policy" }),
    });
    cleanups.push(() => policies.close());

    const store = await openObjectStore(config.files, {
      js: nats.js,
      prefix: config.nats.prefix,
      replicas: config.nats.replicas,
    });
    cleanups.push(() => store.close());
    const files: FileIntakeDeps = {
      pool,
      store,
      maxBytes: config.files.maxBytes,
      budget: {
        maxBytes: config.files.inspectMaxBytes,
        maxTextChars: config.files.inspectMaxTextChars,
        timeoutMs: config.files.inspectTimeoutMs,
      },
      policy: policies.active,
    };

    const connectors = createConnectors(config);
    cleanups.push(async () => {
      await Promise.all(connectors.map((c) => c.close()));
    });
    log.info({ connectors: connectors.map((c) => c.kind) }, "connectors ready");
    const healthChecks = watchConnectorHealth(connectors, config.relay.healthCheckIntervalMs, log);
    cleanups.push(async () => healthChecks.stop());

    const auth = await createVerifier(config.auth);
    if (auth.devMode) {
      log.warn(
        { devKeyFile: config.auth.devKeyFile },
        "development signing key in use: configure auth.jwksUrl for production",
      );
    }

    const loops: Array<ConsumerLoops | StoreWorker> = [];
    cleanups.push(async () => {
      await Promise.all(loops.map((loop) => loop.stop()));
    });
    if (workers.store)
      loops.push(startStoreWorker({ pool, js: nats.js, topo, log: log.child({ worker: "store" }) }));
    if (workers.relay) {
      loops.push(
        startRelay({
          pool,
          js: nats.js,
          nc: nats.nc,
          topo,
          connectors,
          maxAttempts: config.relay.maxAttempts,
          backoff: { baseMs: config.relay.backoffBaseMs, maxMs: config.relay.backoffMaxMs },
          ackWaitMs: config.nats.ackWaitMs,
          store,
          sensitiveNotice: config.relay.sensitiveNotice,
          log: log.child({ worker: "relay" }),
        }),
      );
    }
    if (workers.router) {
      loops.push(
        startRouter({
          pool,
          js: nats.js,
          nc: nats.nc,
          topo,
          policy: policies.active,
          shadow: policies.shadow,
          log: log.child({ worker: "router" }),
        }),
      );
    }

    const http = buildHttpServer({
      pool,
      connectors,
      files,
      ingress: ingressDeps({ pool, js: nats.js, topo, maxTextBytes: config.limits.maxTextBytes }),
      maxPageSize: config.limits.maxPageSize,
      policies,
      policy: policies.active,
      verify: auth.verify,
      bodyLimitBytes: config.http.bodyLimitBytes,
      log,
      ready: async () => {
        const checks: Record<string, string> = {};
        const [pg, nats_, streams] = await Promise.allSettled([
          pool.query("SELECT 1"),
          nats.nc.isClosed() ? Promise.reject(new Error("closed")) : nats.nc.flush(),
          Promise.all(Object.values(topo.streams).map((name) => nats.jsm.streams.info(name))),
        ]);
        checks.postgres = pg.status === "fulfilled" ? "ok" : "unreachable";
        checks.nats = nats_.status === "fulfilled" ? "ok" : "unreachable";
        checks.streams = streams.status === "fulfilled" ? "ok" : "missing";
        return { ok: Object.values(checks).every((v) => v === "ok"), checks };
      },
    });
    // Closed first on shutdown: stop taking requests before the workers stop.
    cleanups.push(() => http.close());
    const address = await http.listen({ host: config.http.host, port: config.http.port });
    log.info({ address, partitions: topo.partitions, prefix: topo.prefix }, "watershed started");
    return { url: address.replace("0.0.0.0", "127.0.0.1"), close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Asks each cloud whether our credentials still work, at start and then periodically, so a
 * revoked token shows in GET /v1/connectors and the logs even while nothing is being sent.
 */
function watchConnectorHealth(
  connectors: readonly Connector[],
  intervalMs: number,
  log: Logger,
): { stop(): void } {
  const abort = new AbortController();
  const previous = new Map<string, boolean>();
  const checkAll = () => {
    for (const connector of connectors) {
      connector
        .checkHealth(abort.signal)
        .then((health) => {
          if (previous.get(connector.kind) === health.healthy) return;
          previous.set(connector.kind, health.healthy);
          if (health.healthy)
            log.info({ connector: connector.kind, detail: health.detail }, "connector healthy");
          else log.error({ connector: connector.kind, detail: health.detail }, "connector unhealthy");
        })
        .catch((err: unknown) => {
          if (!abort.signal.aborted)
            log.warn({ connector: connector.kind, err }, "connector health check failed");
        });
    }
  };
  checkAll();
  const timer = setInterval(checkAll, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      abort.abort();
    },
  };
}

function createConnectors(config: Config): Connector[] {
  const deps = { fetch: globalThis.fetch, now: Date.now };
  return Object.entries(config.connectors).flatMap(([kind, settings]) => {
    if (settings === undefined) return [];
    const factory = connectorFactories.get(kind);
    if (!factory) throw new Error(`no connector of kind '${kind}'`);
    return [factory.create(factory.configSchema.parse(settings), deps)];
  });
}
