// The policy file's schema: the shapes here, the checks that span fields in references.ts.
// Descriptions end up in policies/policy.schema.json, where editors show them.
import { z } from "zod";
import { builtinDetectorTypes, ValidatorName, type BuiltinDetectorType } from "./detectors/index.ts";
import { Label, PrincipalId } from "./model.ts";
import { atLeastOneKey, checkReferences, exactlyOneKey } from "./references.ts";
import { Action } from "./types.ts";

export const Outcome = z.enum(["sensitive", "normal"]);
export type Outcome = z.infer<typeof Outcome>;

const Name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and '-'");
const GroupName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, "lower-case letters, digits, '_', '.', '-'");
const Glob = z
  .string()
  .min(1)
  .max(256)
  .describe("A glob: '*' matches any run of characters, '?' any one character; case-insensitive.");
const Confidence = z.number().min(0).max(1);
const AnyOf = (item: z.ZodType<string>) => z.strictObject({ any: z.array(item).min(1) });

export const BuiltinDetectorTypeSchema = z.enum(
  builtinDetectorTypes as unknown as readonly [BuiltinDetectorType, ...BuiltinDetectorType[]],
);

export const BuiltinDetectorEntry = z.union([
  BuiltinDetectorTypeSchema,
  z.strictObject({
    type: BuiltinDetectorTypeSchema,
    keywords: z
      .array(z.string().min(1).max(64))
      .describe("Extra words that raise confidence near a match, on top of the built-in ones.")
      .optional(),
    minConfidence: Confidence.describe(
      "Detections below this confidence are dropped before any rule sees them.",
    ).optional(),
  }),
]);
export type BuiltinDetectorEntry = z.infer<typeof BuiltinDetectorEntry>;

export const CustomDetector = z.strictObject({
  type: Name.describe("The detection type reported; must not be a built-in type."),
  pattern: z
    .string()
    .min(1)
    .max(4096)
    .describe(
      "A JavaScript regular expression, compiled with the 'gu' flags; a named group 'value' narrows the detection to it.",
    ),
  validator: z.enum(ValidatorName).describe("A check beyond the pattern (checksum, ranges).").optional(),
  keywords: z
    .array(z.string().min(1).max(64))
    .describe("Words that raise confidence near a match.")
    .optional(),
  keywordWindow: z
    .int()
    .min(0)
    .max(1024)
    .describe("Characters searched on each side of a match for a keyword.")
    .optional(),
  confidence: Confidence.describe("Confidence of a match without a keyword nearby.").optional(),
  confidenceWithKeyword: Confidence.describe("Confidence of a match with a keyword nearby.").optional(),
  requireKeyword: z.boolean().describe("Report a match only with a keyword nearby.").optional(),
  ignoreCase: z.boolean().describe("Match letters case-insensitively.").optional(),
  description: z.string().optional(),
});
export type CustomDetector = z.infer<typeof CustomDetector>;

export const Detectors = z.strictObject({
  builtin: z
    .array(BuiltinDetectorEntry)
    .describe("Built-in detectors to enable; all of them when absent, none when empty.")
    .optional(),
  custom: z.array(CustomDetector).describe("Detectors defined by this policy.").optional(),
});

export const DetectedCondition = z.strictObject({
  types: z
    .array(z.string().min(1))
    .min(1)
    .describe("Detector types that count; every enabled type when absent.")
    .optional(),
  minCount: z.int().min(1).describe("How many detections are needed (default 1).").optional(),
  minConfidence: Confidence.describe("Detections below this confidence do not count (default 0).").optional(),
});
export type DetectedCondition = z.infer<typeof DetectedCondition>;

export const LabelsCondition = z
  .strictObject({
    any: z.array(Label).min(1).describe("At least one of these labels.").optional(),
    all: z.array(Label).min(1).describe("Every one of these labels.").optional(),
  })
  .superRefine(atLeastOneKey("any", "all"));

export const MembersCondition = z
  .strictObject({
    any: z.array(PrincipalId).min(1).describe("A member has one of these ids.").optional(),
    anyInGroup: z.array(GroupName).min(1).describe("A member is in one of these policy groups.").optional(),
  })
  .superRefine(atLeastOneKey("any", "anyInGroup"));

export const BoundToCondition = z.strictObject({
  connector: z.string().min(1).max(64).describe("The connector kind, e.g. 'slack'."),
  channel: Glob.optional(),
});

export const SenderCondition = z
  .strictObject({
    roles: AnyOf(z.string().min(1)).describe("The sender has one of these roles.").optional(),
    groups: AnyOf(z.string().min(1)).describe("The sender's token names one of these groups.").optional(),
    department: AnyOf(z.string().min(1)).describe("The sender is in one of these departments.").optional(),
  })
  .superRefine(atLeastOneKey("roles", "groups", "department"));

const MediaTypePattern = z
  .string()
  .regex(/^[A-Za-z0-9][\w.+-]*\/(\*|[A-Za-z0-9][\w.+-]*)$/, "a media type such as 'text/plain' or 'image/*'");

export const FileCondition = z
  .strictObject({
    extension: z
      .array(z.string().min(1).max(32))
      .min(1)
      .describe("File name endings, with or without the dot: 'pdf', '.tar.gz'; case-insensitive.")
      .optional(),
    mediaType: z
      .array(MediaTypePattern)
      .min(1)
      .describe("Media types; 'image/*' matches any image.")
      .optional(),
    minSize: z.int().min(0).describe("Size in bytes, inclusive.").optional(),
    maxSize: z.int().min(0).describe("Size in bytes, inclusive.").optional(),
    detected: DetectedCondition.describe("Detections in the file's extracted text.").optional(),
    inspectable: z.boolean().describe("Whether the broker could extract the file's text.").optional(),
  })
  .superRefine((file, ctx) => {
    if (file.minSize !== undefined && file.maxSize !== undefined && file.minSize > file.maxSize) {
      ctx.addIssue({ code: "custom", path: ["maxSize"], message: "maxSize is smaller than minSize" });
    }
  });

/** One condition: an object with exactly one key. */
export interface Condition {
  labels?: { any?: string[]; all?: string[] };
  title?: { glob: string };
  members?: { any?: string[]; anyInGroup?: string[] };
  externalParticipants?: boolean;
  boundTo?: { connector: string; channel?: string };
  sender?: { roles?: { any: string[] }; groups?: { any: string[] }; department?: { any: string[] } };
  detected?: DetectedCondition;
  file?: z.infer<typeof FileCondition>;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
}

export const conditionKinds = [
  "labels",
  "title",
  "members",
  "externalParticipants",
  "boundTo",
  "sender",
  "detected",
  "file",
  "all",
  "any",
  "not",
] as const satisfies ReadonlyArray<keyof Condition>;
export type ConditionKind = (typeof conditionKinds)[number];

export const Condition: z.ZodType<Condition> = z
  .strictObject({
    labels: LabelsCondition.describe("The conversation's labels.").optional(),
    title: z.strictObject({ glob: Glob }).describe("The conversation's title matches the glob.").optional(),
    members: MembersCondition.describe("The conversation's members.").optional(),
    externalParticipants: z
      .boolean()
      .describe("Whether people from outside the organisation take part.")
      .optional(),
    boundTo: BoundToCondition.describe(
      "The conversation is mirrored to this connector (and a channel matching the glob).",
    ).optional(),
    sender: SenderCondition.describe(
      "The sender's roles, groups, department (every part given must hold).",
    ).optional(),
    detected: DetectedCondition.describe("Detectors that fired in the message text.").optional(),
    file: FileCondition.describe("Some attached file matches every part given.").optional(),
    get all() {
      return z.array(Condition).describe("Every condition matches (an empty list always does).").optional();
    },
    get any() {
      return z.array(Condition).min(1).describe("At least one condition matches.").optional();
    },
    get not() {
      return Condition.optional();
    },
  })
  .superRefine(exactlyOneKey(conditionKinds))
  .meta({
    id: "PolicyCondition",
    description: "Exactly one of the keys; combine several with 'all', 'any' and 'not'.",
    minProperties: 1,
    maxProperties: 1,
  });

export const Rule = z.strictObject({
  id: Name,
  description: z.string().optional(),
  when: Condition,
  outcome: Outcome.describe("'sensitive' keeps the conversation on-prem for good; 'normal' relays it."),
  reason: z.string().min(1).describe("Shown to users when their message stays on-prem."),
  actions: z
    .array(z.enum(Action))
    .describe(
      "'notify' the sender, 'redact' detections when relaying, 'block' the message (forces sensitive).",
    )
    .optional(),
});
export type Rule = z.infer<typeof Rule>;

export const PolicyDocument = z
  .strictObject({
    version: z.string().min(1).max(64).describe("Recorded with every decision this policy makes."),
    description: z.string().optional(),
    detectors: Detectors.describe(
      "Which detectors scan messages and files; every built-in one when absent.",
    ).optional(),
    groups: z
      .record(GroupName, z.array(PrincipalId))
      .describe("Named sets of member ids, for 'members: {anyInGroup: [...]}'.")
      .optional(),
    rules: z
      .array(Rule)
      .describe("Every rule is evaluated; any matching 'sensitive' rule overrides the 'normal' ones."),
    otherwise: z
      .strictObject({ outcome: Outcome, reason: z.string().min(1) })
      .describe("What happens when no rule matches: explicit, never implied."),
  })
  .superRefine(checkReferences);
export type PolicyDocument = z.infer<typeof PolicyDocument>;
