// File inspection: media type from the bytes, and the text the policy's detectors read.
export { inspectFile } from "./inspect-file.ts";
export type { FileMeta } from "./inspect-file.ts";
export type { OpenBytes } from "./read-bounded.ts";
export { InspectionReason } from "./reasons.ts";
export type { Inspection, InspectionBudget } from "../types.ts";
