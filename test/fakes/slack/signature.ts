// How Slack signs what it sends: "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<raw body>".
// https://docs.slack.dev/authentication/verifying-requests-from-slack
import { createHmac } from "node:crypto";

export function slackSignature(signingSecret: string, timestampSeconds: number, body: string): string {
  const basestring = `v0:${timestampSeconds}:${body}`;
  return `v0=${createHmac("sha256", signingSecret).update(basestring).digest("hex")}`;
}
