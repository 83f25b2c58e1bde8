// YAML parsing that keeps positions, so schema errors can name line, column and field.
// Shared by policy files and the broker's config file.
import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
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
  /** Line and column of the deepest node that exists along `path`. */
  locate(path: readonly PropertyKey[]): { line: number; column: number };
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
  return {
    ok: true,
    yaml: {
      value: doc.toJS() as unknown,
      locate(path) {
        const node = nodeAt(doc.contents, path);
        const at = lineCounter.linePos(node?.range?.[0] ?? 0);
        return { line: at.line, column: at.col };
      },
    },
  };
}

/** Turns zod issues into located problems. */
export function schemaProblems(error: z.ZodError, yaml: LocatedYaml, source: string): YamlProblem[] {
  return error.issues.map((issue) => {
    const at = yaml.locate(issue.path);
    return { source, ...at, path: issue.path.map(String).join("."), message: issue.message };
  });
}

export function formatProblem(problem: YamlProblem): string {
  return `${problem.source}:${problem.line}:${problem.column}: ${problem.path || "(document)"}: ${problem.message}`;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  for (const key of path) {
    let next: Node | undefined;
    if (isMap(node)) next = node.get(String(key), true) as Node | undefined;
    else if (isSeq(node)) next = node.get(Number(key), true) as Node | undefined;
    if (next === undefined) return node;
    node = next;
  }
  return node;
}
