// Names the kind of a text file from its extension and, for JSON, its content. Kept simple: the
// policy matches on these types; the detectors read the text whatever its type.

/** Media types of text files by extension (lower case, without the dot). */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: "text/plain",
  text: "text/plain",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  md: "text/markdown",
  markdown: "text/markdown",
  log: "text/x-log",
  json: "application/json",
  ndjson: "application/x-ndjson",
  jsonl: "application/x-ndjson",
  xml: "application/xml",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  ini: "text/plain",
  conf: "text/plain",
  cfg: "text/plain",
  properties: "text/plain",
  env: "text/plain",
  sql: "application/sql",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  ts: "text/x-typescript",
  tsx: "text/x-typescript",
  jsx: "text/javascript",
  py: "text/x-python",
  java: "text/x-java",
  kt: "text/x-kotlin",
  go: "text/x-go",
  rs: "text/x-rust",
  c: "text/x-c",
  h: "text/x-c",
  cc: "text/x-c++",
  cpp: "text/x-c++",
  hpp: "text/x-c++",
  cs: "text/x-csharp",
  rb: "text/x-ruby",
  php: "text/x-php",
  swift: "text/x-swift",
  sh: "text/x-shellscript",
  bash: "text/x-shellscript",
  ps1: "text/x-powershell",
  bat: "text/plain",
};

export function extensionOf(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  return dot >= 0 ? base.slice(dot + 1).toLowerCase() : "";
}

/** The media type of a text file: by extension, JSON only when it parses, else text/plain. */
export function textMediaType(name: string, text: string): string {
  const byName = BY_EXTENSION[extensionOf(name)];
  if (byName === "application/json") return isJson(text) ? byName : "text/plain";
  if (byName) return byName;
  const start = text.trimStart().charAt(0);
  if ((start === "{" || start === "[") && isJson(text)) return "application/json";
  return "text/plain";
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
