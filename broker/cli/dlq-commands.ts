// `watershed dlq list|show|redrive`: dead letters, read and redriven straight from NATS (no HTTP,
// so it works while the broker is down). Output is JSON: one line per letter.
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { InvalidArgumentError, type Command } from "commander";
import type { Config } from "../config/index.ts";
import { getDeadLetter, listDeadLetters, redrive, type DlqDeps } from "../dlq/index.ts";
import { connectNats } from "../nats/connection.ts";
import { topology } from "../nats/topology.ts";
import { CommandError } from "./policy-commands.ts";

/** A commander parser of positive whole numbers; `what` names the value in the error. */
const positiveInt =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0)
      throw new InvalidArgumentError(`expected ${what} (a positive whole number)`);
    return n;
  };

const seqArgument = positiveInt("a DLQ sequence number");

/** Collects variadic seq arguments; commander hands over the list so far. */
function seqList(value: string, previous: number[] | undefined): number[] {
  return [...(previous ?? []), seqArgument(value)];
}

/** Connects to the configured NATS, runs `work`, and closes the connection whatever happens. */
async function withDlq<T>(
  loadConfig: (path: string | undefined) => Promise<Config>,
  configPath: string | undefined,
  work: (deps: DlqDeps) => Promise<T>,
): Promise<T> {
  const { nats } = await loadConfig(configPath);
  const { nc, js, jsm } = await connectNats(nats.servers, `watershed-cli-${process.pid}`);
  const topo = topology(nats.prefix, nats.partitions);
  try {
    return await work({ js, jsm, topo });
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      // Not the server URLs: they can carry credentials.
      throw new CommandError(`no stream ${topo.streams.dlq}: check nats.prefix, or start the broker once`);
    }
    throw error;
  } finally {
    await nc.close();
  }
}

const print = (value: unknown) => console.log(JSON.stringify(value));

export function registerDlqCommands(
  program: Command,
  loadConfig: (path: string | undefined) => Promise<Config>,
): void {
  const dlq = program
    .command("dlq")
    .description("dead letters: messages the relay could not deliver to a connector");

  dlq
    .command("list")
    .description("one JSON line per dead letter, oldest first (no message text)")
    .option("--limit <n>", "at most this many letters", positiveInt("a limit"), 100)
    .option("--after <seq>", "start after this DLQ sequence number", seqArgument)
    .option("--connector <kind>", "only letters of this connector")
    .option("-c, --config <file>", "config file")
    .action(async (options: { limit: number; after?: number; connector?: string; config?: string }) => {
      const page = await withDlq(loadConfig, options.config, (deps) =>
        listDeadLetters(deps, {
          limit: options.limit,
          afterSeq: options.after ?? 0,
          connector: options.connector,
        }),
      );
      for (const letter of page.deadLetters) print(letter);
      // On stderr: stdout stays one letter per line.
      if (page.next !== null) console.error(`more: run again with --after ${page.next}`);
    });

  dlq
    .command("show")
    .argument("<seq>", "DLQ sequence number", seqArgument)
    .description("the dead letter in full, with the message, as one JSON object")
    .option("-c, --config <file>", "config file")
    .action(async (seq: number, options: { config?: string }) => {
      const entry = await withDlq(loadConfig, options.config, (deps) => getDeadLetter(deps, seq));
      if (!entry) throw new CommandError(`no dead letter with seq ${seq}`);
      print(entry);
    });

  dlq
    .command("redrive")
    .argument("[seq...]", "DLQ sequence numbers", seqList)
    .description(
      "send dead letters back to the relay, which delivers each where it is still missing; " +
        "one JSON line per redriven letter, then a summary line",
    )
    .option("--all", "every dead letter present now", false)
    .option("--connector <kind>", "with --all: only letters of this connector")
    .option("-c, --config <file>", "config file")
    .action(
      async (given: number[] | undefined, options: { all: boolean; connector?: string; config?: string }) => {
        const seqs = given ?? [];
        if (options.all === seqs.length > 0)
          throw new CommandError("name the seqs to redrive, or pass --all (not both)");
        if (options.connector !== undefined && !options.all)
          throw new CommandError("--connector goes with --all");
        const report = await withDlq(loadConfig, options.config, (deps) =>
          redrive(deps, options.all ? "all" : seqs, { connector: options.connector }),
        );
        for (const letter of report.redriven) print(letter);
        print({
          redriven: report.redriven.length,
          missing: report.missing,
          unreadable: report.unreadable,
        });
        const problems = [
          ...(report.missing.length > 0 ? [`no dead letter with seq ${report.missing.join(", ")}`] : []),
          ...(report.unreadable.length > 0
            ? [`unreadable, left in the DLQ: seq ${report.unreadable.join(", ")}`]
            : []),
        ];
        if (problems.length > 0) throw new CommandError(problems.join("; "));
      },
    );
}
