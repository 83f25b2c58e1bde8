// A fake Slack for tests: the Web API (enough for @slack/web-api's WebClient), the upload endpoint,
// and signed Events API deliveries, with rate limits, outages and retries on cue.
export { startFakeSlack } from "./fake-slack.ts";
export { DeliveryFailure, OutageMode } from "./types.ts";
export type {
  ActionResult,
  ApiCall,
  DeliverOptions,
  DeliveryAttempt,
  DeliveryResult,
  EventEnvelope,
  FakeSlack,
  FakeSlackFile,
  FakeSlackMessage,
  FakeSlackOptions,
  FakeSlackReaction,
  MessageMetadata,
  PostResult,
  ShareResult,
  SlackEvent,
} from "./types.ts";
