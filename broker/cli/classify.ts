// `watershed classify`: JSON lines in, one decision per line out, sticky per conversation id
// exactly as in the broker. Streams with back-pressure, so memory stays flat on any input size.
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { z } from "zod";
import type { Policy } from "../../policies/index.ts";
import { schemaIssues } from "../../policies/index.ts";
import { verdictOrFailClosed } from "../router/decide.ts";

const ClassifyLine = z.object({
  conversation: z.object({
    id: z.string().min(1),
    title: z.string().default(""),
    labels: z.array(z.string()).default([]),
    members: z.array(z.object({ id: z.string() })).default([]),
    externalParticipants: z.boolean().default(false),
  }),
  message: z.object({
    id: z.string().min(1),
    sender: z.object({
      id: z.string().min(1),
      roles: z.array(z.string()).default([]),
      groups: z.array(z.string()).default([]),
      department: z.string().nullable().default(null),
    }),
    text: z.string(),
  }),
});

export interface ClassifyReport {
  lines: number;
  errors: number;
}

export async function classifyStream(
  policy: Policy,
  input: Readable,
  output: Writable,
): Promise<ClassifyReport> {
  // Only conversations that turned sensitive are remembered: that is all stickiness needs.
  const sensitive = new Set<string>();
  const report: ClassifyReport = { lines: 0, errors: 0 };
  const write = async (value: unknown) => {
    if (!output.write(JSON.stringify(value) + "\n")) await once(output, "drain");
  };
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    report.lines++;
    if (raw.trim() === "") {
      // Still one output line per input line, so outputs can be paired with inputs.
      await write({ line: report.lines, skipped: "empty line" });
      continue;
    }
    let parsed: z.infer<typeof ClassifyLine>;
    try {
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        // JSON.parse quotes the start of the input in its message: never echo message text.
        throw new Error("not valid JSON");
      }
      const result = ClassifyLine.safeParse(json);
      if (!result.success) {
        const issue = schemaIssues(result.error)[0];
        throw new Error(`${issue?.path.join(".") || "(line)"}: ${issue?.message}`);
      }
      parsed = result.data;
    } catch (error) {
      report.errors++;
      await write({ line: report.lines, error: `stdin:${report.lines}: ${(error as Error).message}` });
      continue;
    }
    const { conversation, message } = parsed;
    const { verdict, failed } = verdictOrFailClosed(policy, {
      conversation: { ...conversation, bindings: [], sensitive: sensitive.has(conversation.id) },
      message,
    });
    if (verdict.sensitive && !failed) sensitive.add(conversation.id);
    await write({
      messageId: message.id,
      conversationId: conversation.id,
      zone: verdict.sensitive ? "onprem" : "cloud",
      sensitive: verdict.sensitive,
      rules: verdict.rules,
      detections: verdict.detections.map(({ type, start, end, confidence }) => ({
        type,
        start,
        end,
        confidence,
      })),
    });
  }
  return report;
}
