// Dead letters: list, show and redrive what the relay could not deliver.
export {
  getDeadLetter,
  listDeadLetters,
  unreadableReason,
  type DeadLetterEntry,
  type DeadLetterPage,
  type DeadLetterSummary,
  type DlqDeps,
  type ListOptions,
} from "./dead-letters.ts";
export {
  redrive,
  redriveHeader,
  type RedrivenLetter,
  type RedriveOptions,
  type RedriveReport,
} from "./redrive.ts";
