// The broker's configuration: one YAML file, every field overridable by a WATERSHED_* variable.
// Each leaf's `describe()` text is what the documented table of variables shows.
import { z } from "zod";
import { slackConnector, webhookConnector } from "../../connectors/index.ts";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/ });

export const ConfigSchema = z
  .strictObject({
    http: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1").describe("Interface the HTTP API listens on."),
        port: port.default(8080).describe("HTTP port (0 picks a free one)."),
        bodyLimitBytes: positiveInt.default(1_048_576).describe("Largest request body accepted, in bytes."),
      })
      .prefault({}),
    postgres: z
      .strictObject({
        url: z
          .string()
          .min(1)
          .default("postgres://postgres@127.0.0.1:5432/watershed")
          .describe("Connection URL; the database is created on first start when missing."),
        poolSize: positiveInt.max(200).default(20).describe("Connections in the pool."),
      })
      .prefault({}),
    nats: z
      .strictObject({
        servers: z
          .array(z.string().min(1))
          .min(1)
          .default(["nats://127.0.0.1:4222"])
          .describe("NATS server URLs (comma-separated in the variable)."),
        prefix: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9]*$/, "letters and digits, starting with a letter")
          .max(32)
          .default("ws")
          .describe("Prefix of stream names and subjects, so several deployments can share a NATS account."),
        partitions: positiveInt
          .max(1024)
          .default(16)
          .describe(
            "Ordered partitions conversations are hashed into. Drain INGRESS and RELAY before changing it.",
          ),
        duplicateWindowMs: positiveInt
          .default(600_000)
          .describe("INGRESS deduplication window, in milliseconds."),
        ackWaitMs: positiveInt
          .min(1000)
          .default(30_000)
          .describe("How long a consumer waits for an ack before redelivering, in milliseconds."),
        replicas: z
          .number()
          .int()
          .min(1)
          .max(5)
          .default(1)
          .describe("Stream replicas (3 in a NATS cluster)."),
        maxIngressBacklog: positiveInt
          .default(1_000_000)
          .describe("Messages accepted but not yet routed before intake answers 503 backlog-full."),
      })
      .prefault({}),
    auth: z
      .strictObject({
        issuer: z.string().min(1).default("watershed-dev").describe("Required `iss` of bearer tokens."),
        audience: z.string().min(1).default("watershed").describe("Required `aud` of bearer tokens."),
        algorithms: z
          .array(z.enum(["ES256", "ES384", "EdDSA", "RS256", "PS256"]))
          .min(1)
          .default(["ES256", "RS256", "EdDSA"])
          .describe("Accepted JWS algorithms; any other is refused."),
        jwksUrl: httpUrl
          .optional()
          .describe("JWKS endpoint of the identity provider; disables the development key."),
        jwksFile: z.string().min(1).optional().describe("JWKS file on disk; disables the development key."),
        devKeyFile: z
          .string()
          .min(1)
          .default(".watershed/dev-key.json")
          .describe("Development signing key, created on first start when no JWKS is configured."),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxTextBytes: positiveInt.default(32_768).describe("Largest message text, in UTF-8 bytes."),
        maxPageSize: positiveInt.max(1000).default(200).describe("Largest history page."),
      })
      .prefault({}),
    policy: z
      .strictObject({
        file: z
          .string()
          .min(1)
          .optional()
          .describe("Policy file; the shipped policies/default.yaml when unset."),
      })
      .prefault({}),
    relay: z
      .strictObject({
        maxAttempts: positiveInt
          .max(1000)
          .default(10)
          .describe("Failed sends to a connector before a message is dead-lettered."),
        backoffBaseMs: positiveInt
          .default(500)
          .describe("First retry delay in milliseconds; doubles, with jitter."),
        backoffMaxMs: positiveInt.default(60_000).describe("Longest retry delay in milliseconds."),
        sensitiveNotice: z
          .string()
          .min(1)
          .max(4000)
          .default(
            "This conversation now continues on the secure on-prem channel; nothing more of it is posted here.",
          )
          .describe("Posted once to a conversation's cloud channels when it turns sensitive."),
        healthCheckIntervalMs: positiveInt
          .min(1000)
          .default(60_000)
          .describe("How often each connector's credentials are checked with its cloud, in milliseconds."),
      })
      .prefault({}),
    connectors: z
      .strictObject({
        webhook: webhookConnector.configSchema.optional(),
        slack: slackConnector.configSchema.optional(),
      })
      .prefault({}),
    files: z
      .strictObject({
        store: z
          .enum(["nats", "s3"])
          .default("nats")
          .describe("Where file bytes are kept: the NATS JetStream object store, or an S3-compatible store."),
        maxBytes: positiveInt
          .default(1024 * 1024 * 1024)
          .describe("Largest file accepted, in bytes; a larger upload is refused (413) and nothing is kept."),
        inspectMaxBytes: positiveInt
          .default(50 * 1024 * 1024)
          .describe(
            "Files larger than this are not read for text: the policy's rule for uninspectable files decides.",
          ),
        inspectMaxTextChars: positiveInt
          .default(5_000_000)
          .describe(
            "Extracted text longer than this makes a file uninspectable (it could not be scanned whole).",
          ),
        inspectTimeoutMs: positiveInt
          .default(10_000)
          .describe("Text extraction taking longer than this makes a file uninspectable, in milliseconds."),
        s3: z
          .strictObject({
            endpoint: httpUrl.describe("S3 endpoint, e.g. http://minio.internal:9000."),
            region: z
              .string()
              .min(1)
              .default("us-east-1")
              .describe("S3 region (any value for MinIO or Ceph)."),
            bucket: z.string().min(3).max(63).describe("Bucket for file bytes; created when missing."),
            accessKeyId: z.string().min(1).describe("S3 access key id."),
            secretAccessKey: z.string().min(1).describe("S3 secret access key."),
            forcePathStyle: z
              .boolean()
              .default(true)
              .describe("Path-style URLs (bucket in the path), as MinIO and Ceph expect."),
          })
          .optional(),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
          .default("info")
          .describe("Log level of the JSON logs."),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.files.store === "s3" && config.files.s3 === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["files", "s3"],
        message: "files.store is s3: set files.s3.endpoint, bucket, accessKeyId and secretAccessKey",
      });
    }
    for (const [kind, settings] of Object.entries(config.connectors)) {
      if (settings && settings.timeoutMs >= config.nats.ackWaitMs) {
        ctx.addIssue({
          code: "custom",
          path: ["connectors", kind, "timeoutMs"],
          message: `must be below nats.ackWaitMs (${config.nats.ackWaitMs}): a slower delivery would be redelivered while it still runs`,
        });
      }
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
