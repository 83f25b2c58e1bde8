// Policy tests, like `opa test`: YAML cases (a conversation, a message, the expected zone and
// rules) checked against a compiled policy. Parsing and running are pure; files are read in
// policy-tests-run.ts.
import { z } from "zod";
import { Zone } from "./model.ts";
import { Action, type EvaluationInput, type EvaluationResult, type FileInput, type Policy } from "./types.ts";
import { readYaml, schemaProblems, type YamlProblem } from "./yaml.ts";

const TestConversation = z.strictObject({
  id: z.string().default("test-conversation"),
  title: z.string().default(""),
  labels: z.array(z.string()).default([]),
  members: z.array(z.strictObject({ id: z.string() })).default([]),
  externalParticipants: z.boolean().default(false),
  bindings: z.array(z.strictObject({ connector: z.string(), channel: z.string() })).default([]),
  sensitive: z.boolean().default(false),
});

const TestFile = z.strictObject({
  /** @default `file-<n>`, its place in the list from 1 */
  id: z.string().optional(),
  name: z.string().default("attachment"),
  mediaType: z.string().default("application/octet-stream"),
  /** @default the UTF-8 length of `text` */
  size: z.int().min(0).optional(),
  /** Extracted text; null (the default) for a file that could not be inspected. */
  text: z.string().nullable().default(null),
});

const TestMessage = z.strictObject({
  id: z.string().default("test-message"),
  sender: z
    .strictObject({
      id: z.string().default("tester"),
      roles: z.array(z.string()).default([]),
      groups: z.array(z.string()).default([]),
      department: z.string().nullable().default(null),
    })
    .prefault({}),
  text: z.string().default(""),
  files: z.array(TestFile).optional(),
});

const Expectation = z.strictObject({
  zone: z.enum(Zone),
  /** The exact list of deciding rules, in policy order (`sticky` for a sticky verdict). */
  rules: z.array(z.string()).optional(),
  /** Detection types in the message text, order-insensitive (a type twice means two detections). */
  detections: z.array(z.string()).optional(),
  /** The exact set of actions, order-insensitive. */
  actions: z.array(z.enum(Action)).optional(),
});
export type PolicyTestExpectation = z.infer<typeof Expectation>;

const TestCase = z.strictObject({
  name: z.string().min(1),
  conversation: TestConversation.prefault({}),
  message: TestMessage.prefault({}),
  expect: Expectation,
});

const TestDocument = z
  .strictObject({
    /**
     * The policy file, relative to the test file; `watershed policy test` needs it, while tests
     * sent with a policy to PUT /v1/policy run against that policy and may leave it out.
     */
    policy: z.string().min(1).optional(),
    cases: z.array(TestCase).min(1),
  })
  .superRefine((doc, ctx) => {
    const names = new Set<string>();
    doc.cases.forEach((testCase, index) => {
      if (names.has(testCase.name)) {
        ctx.addIssue({ code: "custom", path: ["cases", index, "name"], message: `duplicate case name` });
      }
      names.add(testCase.name);
    });
  });

export type PolicyTestCase = z.infer<typeof TestCase> & { line: number };

export interface PolicyTestSuite {
  /** The test file. */
  file: string;
  /** The policy under test: as written by `parsePolicyTests`, resolved to a path by `loadPolicyTests`. */
  policy: string | null;
  cases: PolicyTestCase[];
}

export interface PolicyTestActual {
  zone: Zone;
  rules: string[];
  /** Types of the text's detections, sorted. */
  detections: string[];
  actions: Action[];
  /** The evaluation failed (and would route on-prem); such a case always fails. */
  error?: string;
}

export interface PolicyTestCaseResult {
  file: string;
  /** Line of the case in its file. */
  line: number;
  name: string;
  passed: boolean;
  expected: PolicyTestExpectation;
  actual: PolicyTestActual;
  /** Empty when the case passed; else each compared field, `-` expected and `+` actual. */
  diff: string;
}

export interface PolicyTestReport {
  cases: PolicyTestCaseResult[];
  passed: number;
  failed: number;
}

export type PolicyTestParseResult =
  { ok: true; suite: PolicyTestSuite } | { ok: false; problems: YamlProblem[] };

/** Parses and validates one `*.tests.yaml`; problems name the file, line, column and field. */
export function parsePolicyTests(text: string, source: string): PolicyTestParseResult {
  const read = readYaml(text, source);
  if (!read.ok) return read;
  const parsed = TestDocument.safeParse(read.yaml.value);
  if (!parsed.success) return { ok: false, problems: schemaProblems(parsed.error, read.yaml, source) };
  const cases = parsed.data.cases.map((testCase, index) => ({
    ...testCase,
    line: read.yaml.locate(["cases", index]).line,
  }));
  return { ok: true, suite: { file: source, policy: parsed.data.policy ?? null, cases } };
}

export function runPolicyTestSuite(policy: Policy, suite: PolicyTestSuite): PolicyTestCaseResult[] {
  return suite.cases.map((testCase) => {
    const actual = actualOf(policy.evaluate(inputOf(testCase)));
    const { passed, diff } = compare(testCase.expect, actual);
    return {
      file: suite.file,
      line: testCase.line,
      name: testCase.name,
      passed,
      expected: testCase.expect,
      actual,
      diff,
    };
  });
}

function inputOf(testCase: PolicyTestCase): EvaluationInput {
  const { files, ...message } = testCase.message;
  const attached = files?.map((file, index): FileInput => ({
    id: file.id ?? `file-${index + 1}`,
    name: file.name,
    mediaType: file.mediaType,
    size: file.size ?? new TextEncoder().encode(file.text ?? "").length,
    text: file.text,
  }));
  return {
    conversation: testCase.conversation,
    message: attached === undefined ? message : { ...message, files: attached },
  };
}

function actualOf(result: EvaluationResult): PolicyTestActual {
  if (!result.ok) {
    return { zone: "onprem", rules: [], detections: [], actions: [], error: result.error.message };
  }
  const { verdict } = result;
  return {
    zone: verdict.sensitive ? "onprem" : "cloud",
    rules: verdict.rules,
    detections: verdict.detections.map((detection) => detection.type).sort(),
    actions: Object.values(Action).filter((action) => verdict.actions[action]),
  };
}

function compare(
  expected: PolicyTestExpectation,
  actual: PolicyTestActual,
): { passed: boolean; diff: string } {
  const fields: Array<{ name: string; want: string; got: string }> = [
    { name: "zone", want: expected.zone, got: actual.zone },
  ];
  if (expected.rules) fields.push({ name: "rules", want: show(expected.rules), got: show(actual.rules) });
  if (expected.detections) {
    fields.push({
      name: "detections",
      want: show([...expected.detections].sort()),
      got: show(actual.detections),
    });
  }
  if (expected.actions) {
    const want = Object.values(Action).filter((action) => expected.actions?.includes(action));
    fields.push({ name: "actions", want: show(want), got: show(actual.actions) });
  }
  const passed = actual.error === undefined && fields.every(({ want, got }) => want === got);
  if (passed) return { passed, diff: "" };
  const lines = fields.flatMap(({ name, want, got }) =>
    want === got ? [`  ${name}: ${want}`] : [`- ${name}: ${want}`, `+ ${name}: ${got}`],
  );
  if (actual.error !== undefined) lines.push(`+ error: ${actual.error}`);
  return { passed, diff: lines.join("\n") };
}

function show(items: readonly string[]): string {
  return `[${items.join(", ")}]`;
}
