// Loads, overlays and validates the configuration; a bad value stops start-up naming the field.
import { readFile } from "node:fs/promises";
import { formatProblem, readYaml } from "../../policies/index.ts";
import { envVariables, overlayEnv } from "./env.ts";
import { ConfigSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export const configVariables = envVariables(ConfigSchema);

/** Validates `text` (YAML from `source`) with the environment laid over it. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv): Config {
  const read = readYaml(text, source);
  if (!read.ok) throw new ConfigError(read.problems.map(formatProblem).join("\n"));
  const fileValue = read.yaml.value ?? {};
  if (typeof fileValue !== "object" || Array.isArray(fileValue)) {
    throw new ConfigError(`${source}: expected a mapping of settings at the top level`);
  }
  const { value, sources } = overlayEnv(fileValue as Record<string, unknown>, env, configVariables);
  const parsed = ConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    const variable = sources.get(path);
    if (variable !== undefined) return `${variable} (${path}): ${issue.message}`;
    const at = read.yaml.locate(issue.path);
    return formatProblem({ source, ...at, path, message: issue.message });
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return parseConfig(text, path, env);
}
