// Request validation with zod: a failure is a problem naming each bad field.
import type { z } from "zod";
import { schemaIssues } from "../../policies/index.ts";
import { ProblemError, ProblemType } from "./problems.ts";

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null) {
    throw new ProblemError(ProblemType.invalidBody, "a JSON body is required");
  }
  return parseWith(schema, body, ProblemType.invalidBody);
}

export function parseParams<T>(schema: z.ZodType<T>, value: unknown): T {
  return parseWith(schema, value, ProblemType.invalidParameter);
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, type: ProblemType): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = schemaIssues(parsed.error).map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.atKey ? "unknown field" : issue.message,
  }));
  throw new ProblemError(type, errors.map((e) => `${e.path}: ${e.message}`).join("; "), errors);
}
