// Environment overrides: every leaf of the schema has a WATERSHED_<PATH> variable,
// derived from the schema itself so the table in docs can never drift.
import { z } from "zod";

export interface EnvVariable {
  name: string;
  path: string[];
  kind: "string" | "number" | "boolean" | "list";
  /** The default as JSON, or "" when the field has none. */
  defaultValue: string;
  description: string;
}

export function envName(path: readonly string[]): string {
  return (
    "WATERSHED_" + path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_")
  );
}

/** Lists every overridable field, walking object shapes through wrappers (default, optional, ...). */
export function envVariables(schema: z.ZodType, path: string[] = []): EnvVariable[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      envVariables(child, [...path, key]),
    );
  }
  const kind: EnvVariable["kind"] =
    inner instanceof z.ZodNumber
      ? "number"
      : inner instanceof z.ZodBoolean
        ? "boolean"
        : inner instanceof z.ZodArray
          ? "list"
          : "string";
  return [
    {
      name: envName(path),
      path,
      kind,
      defaultValue: schema instanceof z.ZodDefault ? JSON.stringify(schema.def.defaultValue) : "",
      description: schema.description ?? "",
    },
  ];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.def.innerType as z.ZodType;
    } else {
      return current;
    }
  }
}

export interface EnvOverlayResult {
  value: Record<string, unknown>;
  /** Which variable set each overridden path, to name it in error messages. */
  sources: Map<string, string>;
}

/** Lays the environment over the file's values; lists are comma-separated. */
export function overlayEnv(
  fileValue: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  variables: readonly EnvVariable[],
): EnvOverlayResult {
  const value = structuredClone(fileValue);
  const sources = new Map<string, string>();
  for (const variable of variables) {
    const raw = env[variable.name];
    if (raw === undefined || raw === "") continue;
    setPath(value, variable.path, coerce(raw, variable.kind));
    sources.set(variable.path.join("."), variable.name);
  }
  return { value, sources };
}

function coerce(raw: string, kind: EnvVariable["kind"]): unknown {
  switch (kind) {
    case "number":
      // Left as the raw string when not numeric, so validation names the variable.
      return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : raw;
    case "list":
      return raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    case "string":
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], leaf: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = leaf;
}
