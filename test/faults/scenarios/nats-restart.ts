// Scenario 2: the private nats-server is restarted twice during a run: at once, then after 5 s away.
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";

const messages = envInt("FAULTS_NATS_MESSAGES", 3000);

export const natsRestart: Scenario = {
  name: "nats-restart",
  fault: "nats-server restarted twice (once at once, once after 5 s down)",
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations at about 200 messages/s. At a quarter ` +
    "of the run the nats-server is stopped (SIGTERM, which flushes its store) and started again at once, on the " +
    "same port and store directory; at 60 % it is stopped again and started only 5 s later. Meanwhile publishes " +
    "fail (the sender gets a 5xx and retries), pull requests and acks are lost, and the broker's connection " +
    "reconnects on its own; the broker process itself is not restarted.",
  run: () =>
    runOnPrivateServices(natsRestart, ({ nats }) => ({
      conversations: 50,
      messages,
      ratePerSecond: 200,
      drainTimeoutMs: 120_000,
      async faults(context) {
        await context.untilAcknowledged(Math.floor(messages * 0.25));
        context.mark("nats-server stopped (SIGTERM) and started again");
        await nats.restart();
        context.mark("nats-server back");
        await context.untilAcknowledged(Math.floor(messages * 0.6));
        await nats.stop();
        context.mark("nats-server stopped (SIGTERM)");
        await context.sleep(5000);
        await nats.start();
        context.mark("nats-server started again");
      },
    })),
};
