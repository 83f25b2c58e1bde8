// The Slack connector's public surface: its factory, and its config type for the broker's schema.
import type { ConnectorFactory } from "../types.ts";
import { SlackConfig } from "./config.ts";
import { SLACK_KIND, SlackConnector } from "./connector.ts";

export const slackConnector: ConnectorFactory<typeof SlackConfig> = {
  kind: SLACK_KIND,
  configSchema: SlackConfig,
  create(config, deps) {
    // Parsed again because a registry lookup hands over an unvalidated config type.
    return new SlackConnector(SlackConfig.parse(config), deps);
  },
};

export type { SlackConfig } from "./config.ts";
