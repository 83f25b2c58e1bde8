// The `watershed` command line: start, migrate, token, config.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { mintDevToken } from "../auth/index.ts";
import { ConfigError, envTable, loadConfig, type Config } from "../config/index.ts";
import { migrate } from "../db/migrate.ts";
import { openPool } from "../db/pool.ts";
import { PolicyLoadError } from "../../policies/index.ts";
import { registerDlqCommands } from "./dlq-commands.ts";
import { CommandError, registerPolicyCommands } from "./policy-commands.ts";

const exampleConfig = fileURLToPath(new URL("../../watershed.example.yaml", import.meta.url));

function configPath(option: string | undefined): string {
  // An empty variable counts as unset, as everywhere else in the configuration.
  return option || process.env.WATERSHED_CONFIG || exampleConfig;
}

async function config(option: string | undefined): Promise<Config> {
  const path = configPath(option);
  if (!existsSync(path)) throw new ConfigError(`config file not found: ${path}`);
  return loadConfig(path);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

const program = new Command()
  .name("watershed")
  .description("Hybrid-cloud message routing broker: sensitive conversations stay on-prem.")
  .showHelpAfterError();

program
  .command("start")
  .description("run the broker (migrates the database and creates the streams first)")
  .option("-c, --config <file>", "config file (default: $WATERSHED_CONFIG or watershed.example.yaml)")
  .action(async (options: { config?: string }) => {
    // Loaded here: the broker pulls in every worker, store and connector, which the other
    // commands (classify on a stream of lines, policy tools) should not pay for in memory.
    const { startBroker } = await import("../app.ts");
    const broker = await startBroker(await config(options.config));
    const shutdown = () => {
      void broker.close().then(() => process.exit(0));
    };
    process.once("SIGTERM", shutdown);
    process.once("SIGINT", shutdown);
  });

program
  .command("migrate")
  .description("apply the SQL migrations (idempotent; safe with several instances)")
  .option("-c, --config <file>", "config file")
  .action(async (options: { config?: string }) => {
    const { postgres } = await config(options.config);
    const pool = await openPool(postgres.url, 1);
    try {
      const report = await migrate(pool);
      console.log(JSON.stringify(report));
    } finally {
      await pool.end();
    }
  });

program
  .command("token")
  .description("mint a development token signed by the development key")
  .requiredOption("--sub <id>", "subject: the identity the token stands for")
  .option("--roles <roles>", "comma-separated roles", "")
  .option("--ttl <seconds>", "lifetime in seconds", positiveInt, 3600)
  .option("-c, --config <file>", "config file")
  .action(async (options: { sub: string; roles: string; ttl: number; config?: string }) => {
    const { auth } = await config(options.config);
    if (auth.jwksUrl || auth.jwksFile) {
      throw new ConfigError(
        "development tokens are disabled: a JWKS is configured (auth.jwksUrl or auth.jwksFile)",
      );
    }
    const token = await mintDevToken(auth.devKeyFile, {
      sub: options.sub,
      roles: options.roles
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
      issuer: auth.issuer,
      audience: auth.audience,
      ttlSeconds: options.ttl,
    });
    console.log(token);
  });

program
  .command("config")
  .description("configuration helpers")
  .command("env")
  .description("print the table of WATERSHED_* environment variables (Markdown)")
  .action(() => {
    console.log(envTable());
  });

registerPolicyCommands(program, config);
registerDlqCommands(program, config);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const known =
    error instanceof ConfigError || error instanceof CommandError || error instanceof PolicyLoadError;
  console.error(known ? (error as Error).message : `watershed: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 78 : 1);
}
