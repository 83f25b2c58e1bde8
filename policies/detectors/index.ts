// The detectors' public surface: the built-in pack, custom detectors, the compiler and validators.
export { builtinDetectors, builtinDetectorTypes } from "./builtin.ts";
export type { BuiltinDetectorType } from "./builtin.ts";
export { customDetector } from "./custom.ts";
export type { CustomDetectorSpec } from "./custom.ts";
export { DetectorCompileError } from "./errors.ts";
export { compileDetectors, MAX_MATCHES_PER_DETECTOR } from "./scanner.ts";
export { ValidatorName } from "./types.ts";
export type { Detection, DetectorDefinition, DetectorPrefilter, DetectorSet } from "./types.ts";
export {
  cnResidentId,
  emailAddress,
  iban,
  ipAddress,
  luhn,
  passwordValue,
  paymentCard,
  phoneNumber,
  slackToken,
  usSsn,
  validators,
} from "./validators.ts";
