// The connectors folder's public surface; the broker imports from here only.
import type { ConnectorFactory } from "./types.ts";
import { slackConnector } from "./slack/index.ts";
import { webhookConnector } from "./webhook/index.ts";

export type {
  Connector,
  ConnectorDeps,
  ConnectorFactory,
  ConnectorHealth,
  DeleteRequest,
  EditRequest,
  InboundEndpoint,
  InboundEvent,
  InboundFile,
  InboundRequest,
  InboundResult,
  NoticeRequest,
  RateLimit,
  RateLimits,
  ReactRequest,
  SendRequest,
  SendResult,
  UploadRequest,
} from "./types.ts";
export { Capability } from "./types.ts";
export { ConnectorPermanentError, ConnectorRateLimitedError, ConnectorTransientError } from "./errors.ts";
export { slackConnector } from "./slack/index.ts";
export { verifyWebhookSignature, webhookConnector } from "./webhook/index.ts";

/** Every connector kind the broker can run, by `kind`. */
export const connectorFactories: ReadonlyMap<string, ConnectorFactory> = new Map<string, ConnectorFactory>([
  [webhookConnector.kind, webhookConnector],
  [slackConnector.kind, slackConnector],
]);
