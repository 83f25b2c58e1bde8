// Loads, overlays and validates the configuration; a bad value stops start-up naming the field.
import { readFile } from "node:fs/promises";
import { formatProblem, readYaml, schemaIssues } from "../../policies/index.ts";
import { envVariables, overlayEnv } from "./env.ts";
import { ConfigSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export const configVariables = envVariables(ConfigSchema);

/** The Markdown table of every WATERSHED_* variable, as docs/configuration.md shows it. */
export function envTable(): string {
  const rows = configVariables.map(
    (v) =>
      `| \`${v.name}\` | \`${v.path.join(".")}\` | ${v.kind} | ${v.defaultValue ? `\`${v.defaultValue}\`` : "—"} | ${v.description} |`,
  );
  return [
    "| variable | config key | kind | default | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

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
  const lines = schemaIssues(parsed.error).map((issue) => {
    const path = issue.path.map(String);
    const variables = variablesBehind(path, sources, fileValue as Record<string, unknown>);
    if (variables.length > 0) return `${variables.join(", ")} (${path.join(".")}): ${issue.message}`;
    const at = read.yaml.locate(issue.path, issue.atKey);
    return formatProblem({ source, ...at, path: path.join("."), message: issue.message });
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return parseConfig(text, path, env);
}

/**
 * The variables to blame for a problem at `path`: the one that set it or a parent of it, or,
 * when the file lacks the enclosing section, the ones that created that section.
 */
function variablesBehind(
  path: string[],
  sources: Map<string, string>,
  fileValue: Record<string, unknown>,
): string[] {
  for (let length = path.length; length > 0; length--) {
    const variable = sources.get(path.slice(0, length).join("."));
    if (variable !== undefined) return [variable];
  }
  const section = path.slice(0, -1);
  let node: unknown = fileValue;
  for (const key of section) {
    if (typeof node !== "object" || node === null) break;
    node = (node as Record<string, unknown>)[key];
  }
  if (node !== undefined || section.length === 0) return [];
  const prefix = section.join(".") + ".";
  return [...sources].filter(([key]) => key.startsWith(prefix)).map(([, variable]) => variable);
}
