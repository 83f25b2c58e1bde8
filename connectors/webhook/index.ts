// The webhook connector's public surface: the factory and the verifier receivers use.
import type { ConnectorFactory } from "../types.ts";
import { WebhookConfig } from "./config.ts";
import { WEBHOOK_KIND, WebhookConnector } from "./connector.ts";

export const webhookConnector: ConnectorFactory<typeof WebhookConfig> = {
  kind: WEBHOOK_KIND,
  configSchema: WebhookConfig,
  create(config, deps) {
    // Parsed again because a registry lookup hands over an unvalidated config type.
    return new WebhookConnector(WebhookConfig.parse(config), deps);
  },
};

export { verifyWebhookSignature } from "./sign.ts";
export type { WebhookConfig } from "./config.ts";
