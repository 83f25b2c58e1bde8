// Scenario 3: the private PostgreSQL is restarted during a run: a fast shutdown, then a crash.
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";

const messages = envInt("FAULTS_POSTGRES_MESSAGES", 3000);

export const postgresRestart: Scenario = {
  name: "postgres-restart",
  fault: "PostgreSQL restarted (fast shutdown), then crashed (SIGKILL) and restarted",
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations at about 200 messages/s. At a quarter ` +
    "of the run PostgreSQL is restarted with a fast shutdown (SIGINT to the postmaster: open sessions are " +
    "ended); at 60 % its postmaster is SIGKILLed and started again 3 s later, which runs crash recovery. Every " +
    "connection of the broker's pool breaks; intake answers 5xx meanwhile (the sender retries), and the router, " +
    "store and relay fail their work and get it back from NATS.",
  run: () =>
    runOnPrivateServices(postgresRestart, ({ postgres }) => ({
      conversations: 50,
      messages,
      ratePerSecond: 200,
      drainTimeoutMs: 120_000,
      async faults(context) {
        await context.untilAcknowledged(Math.floor(messages * 0.25));
        context.mark("PostgreSQL fast shutdown and start");
        await postgres.restart();
        context.mark("PostgreSQL back");
        await context.untilAcknowledged(Math.floor(messages * 0.6));
        await postgres.kill();
        context.mark("PostgreSQL postmaster SIGKILLed");
        await context.sleep(3000);
        await postgres.start();
        context.mark("PostgreSQL started again (crash recovery done)");
      },
    })),
};
