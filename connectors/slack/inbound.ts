// The Slack Events API endpoint: verify the delivery, parse it, map it to canonical events.
import type { InboundEndpoint, InboundRequest, InboundResult } from "../types.ts";
import { resultFromDelivery } from "./events.ts";
import type { SlackSelf } from "./events.ts";
import { verifySlackSignature } from "./signature.ts";

export interface SlackInboundOptions {
  signingSecret: string;
  maxClockSkewSeconds: number;
  /** Slack user id → on-prem identity. */
  users: Readonly<Record<string, string>>;
  now: () => number;
  /** Who our bot is, as far as the connector knows by now. */
  self: () => SlackSelf;
}

export class SlackInbound implements InboundEndpoint {
  readonly #options: SlackInboundOptions;

  constructor(options: SlackInboundOptions) {
    this.#options = options;
  }

  handle(request: InboundRequest): InboundResult {
    try {
      const { signingSecret, maxClockSkewSeconds, now, self } = this.#options;
      const check = verifySlackSignature(signingSecret, request, now(), maxClockSkewSeconds);
      if (!check.ok) return { kind: "rejected", reason: check.reason };
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(request.rawBody).toString("utf8"));
      } catch {
        return { kind: "rejected", reason: "body is not JSON" };
      }
      return resultFromDelivery(body, self());
    } catch {
      // Only a request of a shape the types rule out (say, no headers object) gets here.
      return { kind: "rejected", reason: "delivery could not be read" };
    }
  }

  identityOf(user: string): string | null {
    // Own keys only: "constructor" must not find Object's.
    return Object.hasOwn(this.#options.users, user) ? (this.#options.users[user] ?? null) : null;
  }
}
