// The JSON Schema of policy files, generated from the zod schema so the two cannot drift.
// Committed as policies/policy.schema.json for editors (yaml-language-server, VS Code).
import { z } from "zod";
import { PolicyDocument } from "./schema.ts";

export function policyJsonSchema(): Record<string, unknown> {
  // `input`: what an author writes (optional fields stay optional), not what parsing returns.
  const generated = z.toJSONSchema(PolicyDocument, { io: "input", target: "draft-2020-12" });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return {
    $schema,
    title: "Watershed routing policy",
    description:
      "Detectors, ordered rules and an explicit `otherwise`. Cross-field checks (unknown groups, " +
      "detector types, regular expressions) run in `watershed policy validate`.",
    ...rest,
  };
}
