// The policy file's schema. The next iteration of the language extends `when`;
// the outer shape (version, rules, otherwise) is what the broker relies on.
import { z } from "zod";
import { Label } from "./model.ts";

export const Outcome = z.enum(["sensitive", "normal"]);

export const Condition = z.strictObject({
  /** Matches when the conversation carries at least one of these labels. */
  labels: z.strictObject({ any: z.array(Label).min(1) }).optional(),
});

export const Rule = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and '-'"),
  description: z.string().optional(),
  when: Condition,
  outcome: Outcome,
  reason: z.string().min(1),
});

export const PolicyDocument = z
  .strictObject({
    version: z.string().min(1).max(64),
    rules: z.array(Rule),
    /** What happens when no rule matches: explicit, never implied. */
    otherwise: z.strictObject({ outcome: Outcome, reason: z.string().min(1) }),
  })
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index, "id"],
          message: `duplicate rule id '${rule.id}'`,
        });
      }
      seen.add(rule.id);
    });
  });
export type PolicyDocument = z.infer<typeof PolicyDocument>;
export type Rule = z.infer<typeof Rule>;
