// The webhook connector's config, validated before a connector is made from it.
import { z } from "zod";

export const WebhookConfig = z.strictObject({
  /** The receiver's endpoint; http or https only. */
  url: z
    .url({ protocol: /^https?$/ })
    // fetch refuses URLs with credentials, which would otherwise look like a network error forever
    .refine((value) => {
      // zod runs refinements even after the format check failed; that failure is already reported.
      if (!URL.canParse(value)) return true;
      const parsed = new URL(value);
      return parsed.username === "" && parsed.password === "";
    }, "the URL must not carry credentials; the secret signs the requests")
    .describe("Receiver URL of the generic outbound webhook (turns the connector on)."),
  /** The shared HMAC secret; long enough that it cannot be guessed. */
  secret: z.string().min(16).describe("HMAC-SHA256 signing secret, at least 16 characters."),
  /**
   * How long one send may take, response body included, in milliseconds.
   * @default 10000
   */
  timeoutMs: z
    .int()
    .positive()
    .max(600_000)
    .default(10_000)
    .describe("Timeout of one delivery, response included, in milliseconds."),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;
