// Opt-in scenario (FAULTS=nats-sigkill): a lone nats-server SIGKILLed three times during a run.
// Not in the default suite: on nats-server 2.9.10 it can leave a consumer stuck (see the doc).
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";

const messages = envInt("FAULTS_NATS_MESSAGES", 3000);

export const natsSigkill: Scenario = {
  name: "nats-sigkill",
  fault: "lone nats-server SIGKILLed 3 times, back after 1 s",
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations at about 200 messages/s and SIGKILLs ` +
    "the lone nats-server at a quarter, half and three quarters of the run, starting it again 1 s later on " +
    "the same store. Without `sync_interval: always` (nats-server 2.10 and later) a crash may lose what the " +
    "server had acknowledged but not yet written; on nats-server 2.9.10 it can also leave a consumer waiting " +
    "for the ack of a message that is no longer in its stream, so with `max_ack_pending: 1` that partition " +
    "stops (fixed upstream in nats-io/nats-server#6387, January 2025). Not part of the default suite; run it " +
    "with `FAULTS=nats-sigkill`.",
  run: () =>
    runOnPrivateServices(natsSigkill, ({ nats }) => ({
      conversations: 50,
      messages,
      ratePerSecond: 200,
      drainTimeoutMs: 60_000,
      async faults(context) {
        for (const share of [0.25, 0.5, 0.75]) {
          await context.untilAcknowledged(Math.floor(messages * share));
          await nats.kill();
          context.mark("nats-server SIGKILLed");
          await context.sleep(1000);
          await nats.start();
          context.mark("nats-server started again");
        }
      },
    })),
};
