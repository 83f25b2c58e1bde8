// Scenario 1: the broker is SIGKILLed ten times while 20,000 messages go through it.
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";

const messages = envInt("FAULTS_SIGKILL_MESSAGES", 20_000);
const kills = envInt("FAULTS_SIGKILL_COUNT", 10);

export const brokerSigkill: Scenario = {
  name: "broker-sigkill",
  fault: `SIGKILL of the broker, ${kills} times`,
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations (30 % labelled \`finance\`) at about 220 ` +
    `messages/s, and SIGKILLs the broker process ${kills} times, evenly spread over the run, starting a new one ` +
    "each time (as a supervisor would). A kill can land anywhere: between the clientMsgId claim and the " +
    "INGRESS publish, after the publish but before the 202, between the router's publishes and its ack, in the " +
    "middle of a store batch, or after a Slack post but before its id was recorded. Senders retry with the " +
    "same clientMsgId until they get a 202.",
  run: () =>
    runOnPrivateServices(brokerSigkill, () => ({
      conversations: 50,
      messages,
      ratePerSecond: 220,
      drainTimeoutMs: 180_000,
      async faults(context) {
        for (let k = 1; k <= kills; k++) {
          await context.untilAcknowledged(Math.floor((k * messages) / (kills + 1)));
          // Not always at the same point of a request's life.
          await context.sleep(Math.floor(Math.random() * 300));
          const started = Date.now();
          await context.rig.restartBroker("SIGKILL");
          context.mark(
            `SIGKILL ${k}; the next broker listened ${((Date.now() - started) / 1000).toFixed(1)} s later`,
          );
        }
      },
    })),
};
