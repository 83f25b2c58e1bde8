export { compilePolicy, parsePolicy } from "./compile.ts";
export type { ParseResult } from "./compile.ts";
export { formatExplanation } from "./explain.ts";
export type {
  ConditionExplanation,
  DetectorExplanation,
  Explanation,
  FileExplanation,
  RuleExplanation,
} from "./explain.ts";
export { policyJsonSchema } from "./json-schema.ts";
export { compilePolicyText, defaultPolicyPath, loadPolicyFile, PolicyLoadError } from "./load.ts";
export { loadPolicyTests, runPolicyTests } from "./policy-tests-run.ts";
export { parsePolicyTests, runPolicyTestSuite } from "./policy-tests.ts";
export type {
  PolicyTestActual,
  PolicyTestCase,
  PolicyTestCaseResult,
  PolicyTestExpectation,
  PolicyTestParseResult,
  PolicyTestReport,
  PolicyTestSuite,
} from "./policy-tests.ts";
export type { Detection } from "./model.ts";
export { redact, redactionIsComplete } from "./redact.ts";
export type { Condition, ConditionKind, PolicyDocument } from "./schema.ts";
export { Action } from "./types.ts";
export type {
  Actions,
  ConversationState,
  EvaluationError,
  EvaluationInput,
  EvaluationResult,
  FileDetections,
  FileInput,
  MessageInput,
  Policy,
  PolicyProblem,
  SenderInput,
  Verdict,
} from "./types.ts";
export { formatProblem, readYaml, schemaIssues, schemaProblems } from "./yaml.ts";
export type { LocatedYaml, SchemaIssue, YamlProblem } from "./yaml.ts";
