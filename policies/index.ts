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
export { formatProblem, readYaml, schemaProblems } from "./yaml.ts";
export type { LocatedYaml, YamlProblem } from "./yaml.ts";
