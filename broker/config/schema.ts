// The broker's configuration: one YAML file, every field overridable by a WATERSHED_* variable.
import { z } from "zod";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

export const ConfigSchema = z.strictObject({
  http: z
    .strictObject({
      /** Interface to listen on. @default "127.0.0.1" */
      host: z.string().min(1).default("127.0.0.1"),
      /** @default 8080 */
      port: port.default(8080),
      /** Largest request body accepted, in bytes. @default 1048576 */
      bodyLimitBytes: positiveInt.default(1_048_576),
    })
    .prefault({}),
  postgres: z
    .strictObject({
      /** Connection URL; the database is created on first start when missing. */
      url: z.string().min(1).default("postgres://postgres@127.0.0.1:5432/watershed"),
      /** @default 10 */
      poolSize: positiveInt.max(200).default(10),
    })
    .prefault({}),
  nats: z
    .strictObject({
      servers: z.array(z.string().min(1)).min(1).default(["nats://127.0.0.1:4222"]),
      /** Prefix of stream names and subjects, so several deployments can share a NATS account. */
      prefix: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]*$/, "letters and digits, starting with a letter")
        .max(32)
        .default("ws"),
      /** Conversations are hashed into this many ordered partitions. Changing it re-shuffles order: drain first. */
      partitions: positiveInt.max(1024).default(16),
      /** INGRESS deduplication window, in milliseconds. @default 600000 */
      duplicateWindowMs: positiveInt.default(600_000),
      /** How long a consumer waits for an ack before redelivering, in milliseconds. @default 30000 */
      ackWaitMs: positiveInt.min(1000).default(30_000),
      /** Stream replicas (3 in a NATS cluster). @default 1 */
      replicas: z.number().int().min(1).max(5).default(1),
    })
    .prefault({}),
  auth: z
    .strictObject({
      issuer: z.string().min(1).default("watershed-dev"),
      audience: z.string().min(1).default("watershed"),
      /** Accepted JWS algorithms; anything else is refused. */
      algorithms: z
        .array(z.enum(["ES256", "ES384", "EdDSA", "RS256", "PS256"]))
        .min(1)
        .default(["ES256", "RS256", "EdDSA"]),
      /** JWKS endpoint of the identity provider; disables the development key. */
      jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** JWKS on disk; disables the development key. */
      jwksFile: z.string().min(1).optional(),
      /** Development signing key, created on first start when no JWKS is configured. */
      devKeyFile: z.string().min(1).default(".watershed/dev-key.json"),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest message text, in UTF-8 bytes. @default 32768 */
      maxTextBytes: positiveInt.default(32_768),
      /** Largest history page. @default 200 */
      maxPageSize: positiveInt.max(1000).default(200),
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** Policy file; the shipped default when unset. */
      file: z.string().min(1).optional(),
    })
    .prefault({}),
  relay: z
    .strictObject({
      /** Deliveries before a message is dead-lettered. @default 10 */
      maxAttempts: positiveInt.max(1000).default(10),
      /** First retry delay in milliseconds; doubles each attempt, with jitter. @default 500 */
      backoffBaseMs: positiveInt.default(500),
      /** Longest retry delay in milliseconds. @default 60000 */
      backoffMaxMs: positiveInt.default(60_000),
    })
    .prefault({}),
  connectors: z
    .strictObject({
      /** Generic outbound webhook; off unless `url` is set. */
      webhook: z
        .strictObject({
          url: z.url({ protocol: /^https?$/ }),
          secret: z.string().min(16),
          timeoutMs: positiveInt.default(10_000),
        })
        .optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
