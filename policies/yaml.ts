// YAML parsing that keeps positions, so schema errors can name line, column and field.
// Shared by policy files and the broker's config file.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { z } from "zod";

/** A problem in a YAML file, located by line, column and field path. */
export interface YamlProblem {
  source: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface LocatedYaml {
  value: unknown;
  /**
   * Line and column of the deepest node that exists along `path`; with `atKey`, of the last
   * segment's key rather than its value (for an unknown key).
   */
  locate(path: readonly PropertyKey[], atKey?: boolean): { line: number; column: number };
}

export type YamlReadResult = { ok: true; yaml: LocatedYaml } | { ok: false; problems: YamlProblem[] };

export function readYaml(text: string, source: string): YamlReadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        return { source, line: at.line, column: at.col, path: "", message: firstLine(error.message) };
      }),
    };
  }
  const value = doc.toJS() as unknown;
  const nulAt = pathToNul(value, []);
  if (nulAt !== null) {
    const node = nodeAt(doc.contents, nulAt, false);
    const at = lineCounter.linePos(node?.range?.[0] ?? 0);
    return {
      ok: false,
      problems: [
        {
          source,
          line: at.line,
          column: at.col,
          path: nulAt.join("."),
          message: "must not contain NUL characters",
        },
      ],
    };
  }
  return {
    ok: true,
    yaml: {
      value,
      locate(path, atKey = false) {
        const node = nodeAt(doc.contents, path, atKey);
        const at = lineCounter.linePos(node?.range?.[0] ?? 0);
        return { line: at.line, column: at.col };
      },
    },
  };
}

export interface SchemaIssue {
  path: PropertyKey[];
  message: string;
  /** The issue is about the key itself (an unknown key), not its value. */
  atKey: boolean;
}

/**
 * Flattens zod issues, giving each unknown key an issue of its own located at the key. A union
 * that failed reports the issues of its one plausible branch (the one whose type fits the value).
 */
export function schemaIssues(error: z.ZodError): SchemaIssue[] {
  return flattenIssues(error.issues, []);
}

type Issue = z.ZodError["issues"][number];

function flattenIssues(issues: readonly Issue[], prefix: readonly PropertyKey[]): SchemaIssue[] {
  return issues.flatMap((issue): SchemaIssue[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: [...path, key], message: "unknown key", atKey: true }));
    }
    if (issue.code === "invalid_union") {
      const plausible = issue.errors.filter(
        (branch) => !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === 0),
      );
      if (plausible.length === 1 && plausible[0]) return flattenIssues(plausible[0], path);
    }
    if (issue.code === "invalid_key" && issue.issues[0]) {
      return [{ path, message: `invalid key: ${issue.issues[0].message}`, atKey: true }];
    }
    return [{ path, message: issue.message, atKey: false }];
  });
}

/** Turns zod issues into located problems. */
export function schemaProblems(error: z.ZodError, yaml: LocatedYaml, source: string): YamlProblem[] {
  return schemaIssues(error).map((issue) => {
    const at = yaml.locate(issue.path, issue.atKey);
    return { source, ...at, path: issue.path.map(String).join("."), message: issue.message };
  });
}

export function formatProblem(problem: YamlProblem): string {
  return `${problem.source}:${problem.line}:${problem.column}: ${problem.path || "(document)"}: ${problem.message}`;
}

/** Where the first string holding a NUL character is (PostgreSQL cannot store it), or null. */
function pathToNul(value: unknown, path: string[]): string[] | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = pathToNul(item, [...path, String(index)]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = pathToNul(key, [...path, key]) ?? pathToNul(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function nodeAt(root: unknown, path: readonly PropertyKey[], atKey: boolean): Node | undefined {
  let node = root as Node | undefined;
  for (const [index, key] of path.entries()) {
    let next: Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      const last = index === path.length - 1;
      next = (last && atKey ? pair?.key : pair?.value) as Node | undefined;
    } else if (isSeq(node)) next = node.get(Number(key), true) as Node | undefined;
    if (next === undefined) return node;
    node = next;
  }
  return node;
}
