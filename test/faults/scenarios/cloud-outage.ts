// Scenario 4: Slack is away for 60 s (500s, then calls that hang, then calls that land but hang),
// then answers a run of 429s, while messages keep coming.
import { OutageMode } from "../../fakes/slack/index.ts";
import { envInt } from "../env.ts";
import { runOnPrivateServices, type Scenario } from "../harness.ts";

const messages = envInt("FAULTS_CLOUD_MESSAGES", 3000);
const outageSeconds = envInt("FAULTS_CLOUD_OUTAGE_S", 60);
const rateLimited = 120;

export const cloudOutage: Scenario = {
  name: "cloud-outage",
  fault: `Slack down ${outageSeconds} s (500, timeout, landed-but-unanswered), then ${rateLimited} 429s`,
  description:
    `Sends ${messages.toLocaleString("en")} messages over 50 conversations at about 40 messages/s. After 5 s the ` +
    `fake Slack answers every call with HTTP 500 for half of a ${outageSeconds}-second outage, then holds every ` +
    "call unanswered (the connector times out after 1 s) for a third of it, then, for the rest, applies each " +
    "call and still never answers, so the relay cannot know whether its post landed. Then the next " +
    `${rateLimited} writes answer 429 with Retry-After: 1. The relay is configured to ride this out ` +
    "(maxAttempts 1000, backoff 100 ms to 1 s): nothing may be dead-lettered, and a post that landed " +
    "unanswered must be found (by its metadata) rather than posted again.",
  run: () =>
    runOnPrivateServices(cloudOutage, () => ({
      conversations: 50,
      messages,
      ratePerSecond: 40,
      drainTimeoutMs: 120_000,
      async faults(context) {
        const { slack } = context.rig;
        const phase = (share: number) => Math.round(outageSeconds * share * 1000);
        await context.sleep(5000);
        slack.setOutage(OutageMode.error500);
        context.mark("Slack answers 500");
        await context.sleep(phase(1 / 2));
        slack.setOutage(OutageMode.timeout);
        context.mark("Slack holds calls unanswered");
        await context.sleep(phase(1 / 3));
        slack.setOutage(OutageMode.commitThenTimeout);
        context.mark("Slack applies calls but never answers");
        await context.sleep(phase(1 / 6));
        slack.setOutage(null);
        context.mark("Slack back");
        await context.sleep(3000);
        slack.rateLimitNext(null, rateLimited, 1);
        context.mark(`the next ${rateLimited} writes answer 429, Retry-After: 1`);
      },
    })),
};
