// Scenario 6: a three-node NATS cluster on loopback with R3 streams; the node leading INGRESS is
// SIGKILLed during a run and started again 10 s later.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { envInt } from "../env.ts";
import { runPlan, type Scenario, type ScenarioResult } from "../harness.ts";
import { startRig } from "../rig.ts";
import { freePort, startPrivateNats, startPrivatePostgres, type PrivateService } from "../services.ts";

const messages = envInt("FAULTS_CLUSTER_MESSAGES", 3000);
const clusterName = "wsfaults";

/** Three nodes, each routed to the other two. */
async function startCluster(): Promise<PrivateService[]> {
  const ports = await Promise.all(
    [0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort() })),
  );
  const nodes: PrivateService[] = [];
  try {
    for (const [index, port] of ports.entries()) {
      const routes = ports.filter((_, other) => other !== index).map((p) => `nats://127.0.0.1:${p.route}`);
      nodes.push(
        await startPrivateNats({
          port: port.client,
          serverName: `n${index + 1}`,
          cluster: { name: clusterName, port: port.route, routes },
        }),
      );
    }
    await waitForJetStream(nodes.map((n) => n.url));
    return nodes;
  } catch (error) {
    await Promise.allSettled(nodes.map((n) => n.destroy()));
    throw error;
  }
}

/** Resolves once the cluster has a JetStream meta leader and answers account requests. */
async function waitForJetStream(servers: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error("the NATS cluster did not elect a JetStream leader", { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

/** The server name of the node leading a stream. */
async function streamLeader(servers: string[], stream: string): Promise<string | null> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    return (await jsm.streams.info(stream)).cluster?.leader ?? null;
  } finally {
    await nc.close();
  }
}

export const natsCluster: Scenario = {
  name: "nats-cluster",
  fault: "3-node NATS cluster, R3 streams: the INGRESS leader SIGKILLed, back 10 s later",
  description:
    "Starts three nats-server nodes on loopback in one cluster (`--cluster`, `--routes`, `--server_name`, a " +
    "JetStream store each) and a broker with all three in `nats.servers` and `nats.replicas: 3`, so every " +
    `stream and consumer has three replicas. Sends ${messages.toLocaleString("en")} messages over 50 ` +
    "conversations at about 150 messages/s; at 40 % of the run the node leading the INGRESS stream is " +
    "SIGKILLed (a crash, not a shutdown: what it had not written is gone from it, but a publish is only " +
    "acknowledged once a majority of the replicas has it), and it is started again 10 s later with its old " +
    "store, catching up from the others.",
  async run(): Promise<ScenarioResult> {
    const setupStartedAt = Date.now();
    const nodes = await startCluster();
    const servers = nodes.map((n) => n.url);
    try {
      const postgres = await startPrivatePostgres();
      try {
        const rig = await startRig({ natsServers: servers, postgresUrl: postgres.url, replicas: 3 });
        try {
          return await runPlan(
            natsCluster.name,
            natsCluster.fault,
            rig,
            {
              conversations: 50,
              messages,
              ratePerSecond: 150,
              drainTimeoutMs: 120_000,
              async faults(context) {
                await context.untilAcknowledged(Math.floor(messages * 0.4));
                const leader = await streamLeader(servers, `${rig.prefix.toUpperCase()}_INGRESS`);
                const victim = nodes.find((n) => n.name === leader) ?? (nodes[0] as PrivateService);
                await victim.kill();
                context.mark(`${victim.name} (INGRESS leader: ${leader ?? "unknown"}) SIGKILLed`);
                await context.sleep(10_000);
                await victim.start();
                context.mark(`${victim.name} started again`);
              },
            },
            setupStartedAt,
          );
        } finally {
          await rig.close();
        }
      } finally {
        await postgres.destroy();
      }
    } finally {
      await Promise.allSettled(nodes.map((n) => n.destroy()));
    }
  },
};
