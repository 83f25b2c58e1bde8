export { compilePolicy, parsePolicy } from "./compile.ts";
export { defaultPolicyPath, loadPolicyFile, PolicyLoadError } from "./load.ts";
export type {
  ConversationState,
  EvaluationError,
  EvaluationInput,
  EvaluationResult,
  MessageInput,
  Policy,
  PolicyProblem,
  Verdict,
} from "./types.ts";
export { formatProblem, readYaml, schemaIssues, schemaProblems } from "./yaml.ts";
export type { LocatedYaml, SchemaIssue, YamlProblem } from "./yaml.ts";
