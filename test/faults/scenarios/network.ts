// Scenario 5: network faults through our proxy, between the broker and NATS, then between the
// broker and PostgreSQL: delay, resets, and a black hole of a few seconds.
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";
import { ProxyMode, startProxy, type ProxyMode as Mode, type TcpProxy } from "../proxy.ts";

const messages = envInt("FAULTS_NETWORK_MESSAGES", 4000);
const delayMs = 150;
const blackholeMs = 4000;

interface Proxies {
  nats: TcpProxy;
  postgres: TcpProxy;
}

export const networkFaults: Scenario = {
  name: "network",
  fault: `delay ${delayMs} ms, resets, ${blackholeMs / 1000} s black hole: broker–NATS, then broker–PostgreSQL`,
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations at about 100 messages/s, with the broker ` +
    "talking to NATS and to PostgreSQL through a TCP proxy of the suite's own (`test/faults/proxy.ts`); the " +
    "checker reads both directly. Between broker and NATS, then between broker and PostgreSQL, the proxy in " +
    `turn delays every chunk by ${delayMs} ms each way for 5 s, resets every connection (and every new one) for ` +
    `2 s, and black-holes the traffic for ${blackholeMs / 1000} s (connections stay open, nothing goes through ` +
    "either way; held bytes are delivered once it ends, as TCP retransmission would), with 3 s of normal " +
    "traffic after each fault.",
  run: () =>
    runOnPrivateServices<Proxies>(
      networkFaults,
      (_services, proxies) => ({
        conversations: 50,
        messages,
        ratePerSecond: 100,
        drainTimeoutMs: 120_000,
        async faults(context) {
          const spell = async (name: "nats" | "postgres", mode: Mode, label: string, ms: number) => {
            proxies[name].setMode(mode);
            context.mark(`${name}: ${label}`);
            await context.sleep(ms);
            proxies[name].setMode(ProxyMode.pass);
            context.mark(`${name}: pass`);
            await context.sleep(3000);
          };
          await context.sleep(3000);
          for (const name of ["nats", "postgres"] as const) {
            await spell(name, ProxyMode.delay(delayMs), `delay ${delayMs} ms`, 5000);
            await spell(name, ProxyMode.reset, "reset", 2000);
            await spell(name, ProxyMode.blackhole, "black hole", blackholeMs);
          }
          const stats = `nats ${JSON.stringify(proxies.nats.stats())}, postgres ${JSON.stringify(proxies.postgres.stats())}`;
          context.mark(`proxy connections: ${stats}`);
        },
      }),
      async ({ nats, postgres }) => {
        const target = (port: number) => ({ host: "127.0.0.1", port });
        const proxies: Proxies = {
          nats: await startProxy({ target: target(nats.port) }),
          postgres: await startProxy({ target: target(postgres.port) }),
        };
        return {
          rig: {
            natsServers: [`nats://${proxies.nats.address}`],
            adminNatsServers: [nats.url],
            postgresUrl: postgres.url,
            brokerPostgresUrl: `postgres://postgres@${proxies.postgres.address}/postgres`,
          },
          extra: proxies,
          async close() {
            await proxies.nats.close();
            await proxies.postgres.close();
          },
        };
      },
    ),
};
