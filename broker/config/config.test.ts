import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { z } from "zod";
import { ConfigError, ConfigSchema, configVariables, parseConfig } from "./index.ts";
import type { Config } from "./index.ts";

const exampleFile = new URL("../../watershed.example.yaml", import.meta.url);

function configError(text: string, env: NodeJS.ProcessEnv = {}, source = "cfg.yaml"): string {
  try {
    parseConfig(text, source, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail("expected the configuration to be rejected");
}

/** Every leaf path of the schema, found by walking object shapes through wrappers. */
function schemaLeaves(schema: z.ZodType, path: string[] = []): string[] {
  let inner: z.ZodType = schema;
  while (
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault ||
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodNullable
  ) {
    inner = inner.def.innerType as z.ZodType;
  }
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      schemaLeaves(child, [...path, key]),
    );
  }
  return [path.join(".")];
}

describe("parseConfig defaults", () => {
  const config: Config = parseConfig("", "empty.yaml", {});

  test("an empty file gives the documented defaults", () => {
    assert.equal(config.http.port, 8080);
    assert.equal(config.http.host, "127.0.0.1");
    assert.deepEqual(config.nats.servers, ["nats://127.0.0.1:4222"]);
    assert.equal(config.nats.partitions, 16);
    assert.equal(new URL(config.postgres.url).hostname, "127.0.0.1");
    assert.equal(new URL(config.postgres.url).protocol, "postgres:");
    assert.equal(config.connectors.webhook, undefined);
    assert.equal(config.auth.jwksUrl, undefined);
    assert.equal(config.auth.jwksFile, undefined);
  });

  test("a file with only comments is the same as an empty one", () => {
    assert.deepEqual(parseConfig("# nothing here\n", "comments.yaml", {}), config);
  });

  test("file values override defaults and keep the rest", () => {
    const parsed = parseConfig("http:\n  port: 9000\nnats:\n  partitions: 4\n", "f.yaml", {});
    assert.equal(parsed.http.port, 9000);
    assert.equal(parsed.http.host, "127.0.0.1");
    assert.equal(parsed.nats.partitions, 4);
    assert.deepEqual(parsed.nats.servers, ["nats://127.0.0.1:4222"]);
  });
});

describe("environment overrides", () => {
  test("a number variable overrides the file", () => {
    const parsed = parseConfig("http:\n  port: 9000\n", "f.yaml", { WATERSHED_HTTP_PORT: "9191" });
    assert.equal(parsed.http.port, 9191);
  });

  test("a camelCase leaf maps to an upper snake case variable", () => {
    const parsed = parseConfig("", "f.yaml", { WATERSHED_HTTP_BODY_LIMIT_BYTES: "2048" });
    assert.equal(parsed.http.bodyLimitBytes, 2048);
  });

  test("a list variable is comma-separated, trimmed, empty items dropped", () => {
    const parsed = parseConfig("nats:\n  servers: [nats://file:4222]\n", "f.yaml", {
      WATERSHED_NATS_SERVERS: "nats://a:4222, nats://b:4222,,",
    });
    assert.deepEqual(parsed.nats.servers, ["nats://a:4222", "nats://b:4222"]);
  });

  test("a string variable overrides", () => {
    const parsed = parseConfig("log:\n  level: warn\n", "f.yaml", {
      WATERSHED_LOG_LEVEL: "debug",
      WATERSHED_AUTH_ISSUER: "https://idp.example",
    });
    assert.equal(parsed.log.level, "debug");
    assert.equal(parsed.auth.issuer, "https://idp.example");
  });

  test("an empty variable is ignored", () => {
    const parsed = parseConfig("http:\n  port: 9000\n", "f.yaml", { WATERSHED_HTTP_PORT: "" });
    assert.equal(parsed.http.port, 9000);
  });

  test("nested variables URL + SECRET enable the webhook connector", () => {
    const parsed = parseConfig("", "f.yaml", {
      WATERSHED_CONNECTORS_WEBHOOK_URL: "https://bridge.example/hook",
      WATERSHED_CONNECTORS_WEBHOOK_SECRET: "0123456789abcdef-secret",
    });
    assert.deepEqual(parsed.connectors.webhook, {
      url: "https://bridge.example/hook",
      secret: "0123456789abcdef-secret",
      timeoutMs: 10_000,
    });
  });

  test("a nested variable completes a section from the file", () => {
    const parsed = parseConfig("connectors:\n  webhook:\n    url: https://bridge.example/hook\n", "f.yaml", {
      WATERSHED_CONNECTORS_WEBHOOK_SECRET: "0123456789abcdef-secret",
    });
    assert.equal(parsed.connectors.webhook?.url, "https://bridge.example/hook");
    assert.equal(parsed.connectors.webhook?.secret, "0123456789abcdef-secret");
  });

  test("unrelated variables are ignored", () => {
    const parsed = parseConfig("", "f.yaml", { WATERSHED_NOT_A_SETTING: "x", HTTP_PORT: "1" });
    assert.equal(parsed.http.port, 8080);
  });
});

describe("errors", () => {
  test("a bad value from the file names file:line:col: path", () => {
    const message = configError("http:\n  host: 0.0.0.0\n  port: 99999\n");
    assert.match(message, /^cfg\.yaml:3:9: http\.port: /m);
  });

  test("a bad nested value from the file names its location", () => {
    const message = configError("nats:\n  servers:\n    - nats://a:4222\n    - ''\n");
    assert.match(message, /^cfg\.yaml:4:7: nats\.servers\.1: /m);
  });

  test("a bad number from env names the variable and the path", () => {
    const message = configError("http:\n  port: 9000\n", { WATERSHED_HTTP_PORT: "eighty" });
    assert.match(message, /WATERSHED_HTTP_PORT \(http\.port\): /);
    assert.doesNotMatch(message, /cfg\.yaml:/);
  });

  test("an out-of-range number from env names the variable", () => {
    const message = configError("", { WATERSHED_NATS_PARTITIONS: "0" });
    assert.match(message, /WATERSHED_NATS_PARTITIONS \(nats\.partitions\): /);
  });

  test("a bad string from env names the variable", () => {
    const message = configError("", {
      WATERSHED_CONNECTORS_WEBHOOK_URL: "https://bridge.example/hook",
      WATERSHED_CONNECTORS_WEBHOOK_SECRET: "short",
    });
    assert.match(message, /WATERSHED_CONNECTORS_WEBHOOK_SECRET \(connectors\.webhook\.secret\): /);
  });

  test("a bad list element from env names the variable", () => {
    const message = configError("", { WATERSHED_AUTH_ALGORITHMS: "ES256,HS256" });
    assert.match(message, /WATERSHED_AUTH_ALGORITHMS/);
  });

  test("a webhook section created only by env names the variable, not the file", () => {
    const message = configError("", { WATERSHED_CONNECTORS_WEBHOOK_TIMEOUT_MS: "5000" });
    assert.match(message, /WATERSHED_CONNECTORS_WEBHOOK_TIMEOUT_MS/);
    assert.doesNotMatch(message, /cfg\.yaml:1:1/);
  });

  test("a webhook URL without a secret is rejected", () => {
    const message = configError("", { WATERSHED_CONNECTORS_WEBHOOK_URL: "https://bridge.example/hook" });
    assert.match(message, /connectors\.webhook\.secret/);
  });

  test("an unknown top-level key is rejected", () => {
    const message = configError("bogus: 1\n");
    assert.match(message, /cfg\.yaml:1:1: bogus: unknown key/);
  });

  test("an unknown nested key is rejected naming its section", () => {
    const message = configError("http:\n  prot: 1\n");
    assert.match(message, /cfg\.yaml:2:3: http\.prot: unknown key/);
  });

  test("a YAML syntax error names file:line:col", () => {
    const message = configError("http:\n  port: 1\n  port: 2\n");
    assert.match(message, /^cfg\.yaml:3:3: /);
  });

  test("a top level that is not a mapping is rejected", () => {
    assert.match(configError("- a\n- b\n"), /expected a mapping/);
  });
});

describe("configVariables", () => {
  test("every leaf of the schema has exactly one variable", () => {
    const leaves = schemaLeaves(ConfigSchema).sort();
    const paths = configVariables.map((variable) => variable.path.join(".")).sort();
    assert.ok(leaves.length >= 20, `only ${leaves.length} leaves found`);
    assert.deepEqual(paths, leaves);
  });

  test("variable names are unique and WATERSHED_ upper snake case", () => {
    const names = configVariables.map((variable) => variable.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^WATERSHED_[A-Z0-9]+(_[A-Z0-9]+)*$/);
  });

  test("kinds match the schema for known leaves", () => {
    const kind = (path: string) => configVariables.find((variable) => variable.path.join(".") === path)?.kind;
    assert.equal(kind("http.port"), "number");
    assert.equal(kind("nats.servers"), "list");
    assert.equal(kind("auth.algorithms"), "list");
    assert.equal(kind("auth.issuer"), "string");
    assert.equal(kind("log.level"), "string");
  });

  const webhookEnv = {
    WATERSHED_CONNECTORS_WEBHOOK_URL: "https://bridge.example/hook",
    WATERSHED_CONNECTORS_WEBHOOK_SECRET: "0123456789abcdef-secret",
    WATERSHED_CONNECTORS_SLACK_BOT_TOKEN: "xoxb-test-token",
    WATERSHED_CONNECTORS_SLACK_SIGNING_SECRET: "test-signing-secret",
  };
  const leafOf = (config: unknown, path: readonly string[]): unknown =>
    path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);

  test("every number variable sets its own leaf", () => {
    const defaults = parseConfig("", "f.yaml", webhookEnv);
    const numbers = configVariables.filter((variable) => variable.kind === "number");
    assert.ok(numbers.length >= 10);
    for (const variable of numbers) {
      const wanted = (leafOf(defaults, variable.path) as number) + 1;
      const parsed = parseConfig("", "f.yaml", { ...webhookEnv, [variable.name]: String(wanted) });
      assert.equal(leafOf(parsed, variable.path), wanted, variable.name);
    }
  });

  test("every number variable is named when its value is not a number", () => {
    for (const variable of configVariables.filter((v) => v.kind === "number")) {
      const message = configError("", { ...webhookEnv, [variable.name]: "nope" });
      assert.ok(message.includes(`${variable.name} (${variable.path.join(".")})`), message);
    }
  });
});

describe("watershed.example.yaml", () => {
  test("parses without environment", async () => {
    const text = await readFile(exampleFile, "utf8");
    const parsed = parseConfig(text, "watershed.example.yaml", {});
    assert.equal(parsed.http.port, 8080);
    assert.equal(parsed.nats.prefix, "ws");
    assert.equal(parsed.auth.issuer, "watershed-dev");
  });

  test("its commented webhook section is valid when uncommented", async () => {
    const text = await readFile(exampleFile, "utf8");
    const uncommented = text.replace(/^# (connectors:| {2}webhook:| {4}url:| {4}secret:)/gm, "$1");
    assert.notEqual(uncommented, text);
    const parsed = parseConfig(uncommented, "watershed.example.yaml", {});
    assert.equal(parsed.connectors.webhook?.url, "https://chat-bridge.example.internal/watershed");
  });
});

test("a webhook timeout at or above the ack wait is refused, naming the field", () => {
  assert.throws(
    () =>
      parseConfig(
        "connectors:\n  webhook:\n    url: http://bridge.test/h\n    secret: 0123456789abcdef0123\n    timeoutMs: 40000\n",
        "c.yaml",
        {},
      ),
    /c\.yaml:5:16: connectors\.webhook\.timeoutMs: must be below nats\.ackWaitMs/,
  );
});
