// The `watershed` command line, run for real as a child process: `config env`, `token`, config
// errors (exit 78 naming the file, line, field or variable) and `migrate` against PostgreSQL.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { stringify } from "yaml";
import { AuthError, createVerifier } from "../../broker/auth/index.ts";
import { configVariables, ConfigSchema } from "../../broker/config/index.ts";
import { assertExit, describeRun, runCli, type CliResult } from "../helpers/cli.ts";
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from "../helpers/services.ts";

const migrationsDir = fileURLToPath(new URL("../../broker/db/migrations/", import.meta.url));
// A server nothing listens on: if a config error went unnoticed, the command fails with exit 1
// instead of touching a real database.
const unreachablePostgres = "postgres://postgres@127.0.0.1:1/unreachable";

async function migrationFiles(): Promise<string[]> {
  return (await readdir(migrationsDir)).filter((name) => /^\d{3}_.+\.sql$/.test(name)).sort();
}

function parseReport(result: CliResult): { applied: string[]; alreadyApplied: string[] } {
  const lines = result.stdout.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line of JSON:\n${describeRun(result)}`);
  return JSON.parse(lines[0] as string) as { applied: string[]; alreadyApplied: string[] };
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "watershed-cli-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("watershed config env", () => {
  test("prints a Markdown table naming every configuration variable", async () => {
    const result = await runCli(["config", "env"]);
    assertExit(result, 0);
    const lines = result.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^\| variable \| config key \|/);
    assert.match(lines[1] ?? "", /^\|( --- \|)+$/);
    const rows = lines.slice(2);
    assert.ok(
      rows.every((row) => row.startsWith("| `WATERSHED_") && row.endsWith(" |")),
      result.stdout,
    );
    assert.equal(rows.length, configVariables.length);
    assert.ok(configVariables.length > 20, "configVariables looks too short");
    for (const variable of configVariables) {
      const row = rows.find((r) => r.startsWith(`| \`${variable.name}\` |`));
      assert.ok(row, `no row for ${variable.name}`);
      assert.ok(row.includes(`\`${variable.path.join(".")}\``), row);
    }
  });
});

describe("watershed token", { concurrency: true }, () => {
  const issuer = "https://issuer.cli.test.invalid";
  const audience = "watershed-cli-test";

  test("mints a development token the broker's verifier accepts", async () => {
    const devKeyFile = join(dir, "token-ok", "keys", "dev-key.json");
    const configFile = join(dir, "token-ok.yaml");
    await writeFile(configFile, stringify({ auth: { issuer, audience, devKeyFile } }));
    assert.equal(existsSync(devKeyFile), false);

    const startedAt = Math.floor(Date.now() / 1000);
    const result = await runCli(["token", "--sub", "alice", "--roles", "a,b", "--config", configFile]);
    const afterRun = Math.floor(Date.now() / 1000);
    assertExit(result, 0);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, describeRun(result));
    const token = lines[0] as string;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

    const [headerPart, payloadPart] = token.split(".") as [string, string, string];
    const header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(header.alg, "ES256");
    const payload = JSON.parse(Buffer.from(payloadPart, "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(payload.sub, "alice");
    assert.deepEqual(payload.roles, ["a", "b"]);
    assert.equal(payload.iss, issuer);
    assert.equal(payload.aud, audience);
    assert.equal(typeof payload.exp, "number");
    const exp = payload.exp as number;
    assert.ok(exp >= startedAt + 3600 && exp <= afterRun + 3600, `exp ${exp} not about now + 3600`);

    const mode = (await stat(devKeyFile)).mode & 0o777;
    assert.equal(mode, 0o600, `dev key file mode is ${mode.toString(8)}`);

    const setup = await createVerifier(ConfigSchema.parse({ auth: { issuer, audience, devKeyFile } }).auth);
    assert.equal(setup.devMode, true);
    assert.deepEqual(await setup.verify(token), {
      id: "alice",
      roles: ["a", "b"],
      groups: [],
      department: null,
    });

    // Another development key (created afresh here) must not accept it.
    const other = await createVerifier(
      ConfigSchema.parse({ auth: { issuer, audience, devKeyFile: join(dir, "token-ok", "other.json") } })
        .auth,
    );
    await assert.rejects(other.verify(token), AuthError);
  });

  test("refuses when a JWKS is configured", async () => {
    const devKeyFile = join(dir, "token-jwks", "dev-key.json");
    const configFile = join(dir, "token-jwks.yaml");
    await writeFile(
      configFile,
      stringify({ auth: { issuer, audience, devKeyFile, jwksFile: join(dir, "token-jwks", "jwks.json") } }),
    );
    const result = await runCli(["token", "--sub", "alice", "--config", configFile]);
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stderr, /development tokens are disabled/);
    assert.equal(result.stdout, "");
    assert.equal(existsSync(devKeyFile), false, "the development key was created anyway");
  });

  test("fails with a usage error without --sub", async () => {
    const result = await runCli(["token", "--roles", "a"]);
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stderr, /required option '--sub <id>' not specified/);
    assert.match(result.stderr, /Usage: watershed token/);
    assert.equal(result.stdout, "");
  });
});

describe("configuration errors stop a command with exit 78", { concurrency: true }, () => {
  test("a bad value in the file names the file, line and field", async () => {
    const configFile = join(dir, "bad-port.yaml");
    await writeFile(configFile, `http:\n  port: "abc"\npostgres:\n  url: ${unreachablePostgres}\n`);
    const result = await runCli(["migrate", "--config", configFile]);
    assertExit(result, 78);
    assert.ok(result.stderr.includes(`${configFile}:2:`), describeRun(result));
    assert.match(result.stderr, /http\.port/);
    assert.equal(result.stdout, "");
  });

  test("a bad environment override names the variable", async () => {
    const configFile = join(dir, "good.yaml");
    await writeFile(configFile, `http:\n  port: 8080\npostgres:\n  url: ${unreachablePostgres}\n`);
    const result = await runCli(["migrate", "--config", configFile], {
      env: { WATERSHED_NATS_PARTITIONS: "0" },
    });
    assertExit(result, 78);
    assert.match(result.stderr, /WATERSHED_NATS_PARTITIONS/);
    assert.match(result.stderr, /nats\.partitions/);
    assert.ok(!result.stderr.includes(`${configFile}:`), "blames the file for the variable's value");
  });

  test("a missing config file names the path", async () => {
    const configFile = join(dir, "does-not-exist.yaml");
    const result = await runCli(["migrate", "--config", configFile]);
    assertExit(result, 78);
    assert.ok(result.stderr.includes(configFile), describeRun(result));
    assert.match(result.stderr, /not found/);
  });
});

describe("watershed migrate", () => {
  let db: TestDatabase;
  let files: string[];

  before(async () => {
    db = await createTestDatabase();
    files = await migrationFiles();
    assert.ok(files.includes("001_init.sql"), `migrations: ${files.join(", ")}`);
  });

  after(async () => {
    await db.drop();
  });

  test("applies the migrations once, then reports them as already applied", async () => {
    const configFile = join(dir, "migrate.yaml");
    await writeFile(configFile, stringify({ postgres: { url: db.url } }));

    const first = await runCli(["migrate", "--config", configFile]);
    assertExit(first, 0);
    assert.deepEqual(parseReport(first), { applied: files, alreadyApplied: [] });

    const second = await runCli(["migrate", "--config", configFile]);
    assertExit(second, 0);
    assert.deepEqual(parseReport(second), { applied: [], alreadyApplied: files });

    const { rows } = await db.pool.query<{ name: string }>(
      "SELECT name FROM schema_migrations ORDER BY name",
    );
    assert.deepEqual(
      rows.map((row) => row.name),
      files,
    );
    const table = await db.pool.query<{ t: string | null }>("SELECT to_regclass('conversations')::text AS t");
    assert.equal(table.rows[0]?.t, "conversations");
  });

  test("creates the database when it does not exist yet", async () => {
    const name = `ws_test_cli_${randomBytes(6).toString("hex")}`;
    const url = new URL(postgresAdminUrl);
    url.pathname = `/${name}`;
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    try {
      const exists = async () =>
        (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
      assert.equal(await exists(), false);

      const configFile = join(dir, "migrate-new.yaml");
      await writeFile(configFile, stringify({ postgres: { url: url.toString() } }));
      const result = await runCli(["migrate", "--config", configFile]);
      assertExit(result, 0);
      assert.deepEqual(parseReport(result), { applied: files, alreadyApplied: [] });
      assert.equal(await exists(), true);

      const created = new pg.Client({ connectionString: url.toString() });
      await created.connect();
      try {
        const { rows } = await created.query<{ name: string }>(
          "SELECT name FROM schema_migrations ORDER BY name",
        );
        assert.deepEqual(
          rows.map((row) => row.name),
          files,
        );
      } finally {
        await created.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await admin.end();
    }
  });
});
