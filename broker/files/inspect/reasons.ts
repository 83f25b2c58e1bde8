// Why a file could not be inspected: fixed phrases, so a reason never carries a byte of the file.

/** The `reason` of an uninspectable `Inspection`, one phrase per cause. */
export const InspectionReason = {
  tooLarge: "over budget: larger than inspectMaxBytes",
  textTooLong: "over budget: text longer than inspectMaxTextChars",
  timeout: "over budget: took longer than inspectTimeoutMs",
  expandsTooMuch: "over budget: expands beyond the archive limits",
  memory: "over budget: needs more memory than allowed",
  aborted: "inspection aborted",
  image: "image",
  audioVideo: "audio or video",
  archive: "archive",
  encryptedOffice: "encrypted Office document",
  oleContainer: "legacy Office or other OLE container",
  encryptedPdf: "encrypted PDF",
  encrypted: "encrypted content",
  unreadableFont: "a font whose text cannot be read",
  embedded: "embedded object, macro or attachment that cannot be inspected",
  pictures: "contains pictures that cannot be read",
  nameMismatch: "the content does not match its name",
  ambiguous: "reads as more than one format",
  encodedContent: "holds encoded content",
  corrupt: "corrupt or truncated",
  unsupported: "unsupported format",
  binary: "unrecognised binary data",
  encoding: "text in an invalid or unsupported encoding",
  readFailed: "could not be read",
  invalidBudget: "invalid inspection budget",
  failed: "inspection failed",
} as const;
export type InspectionReason = (typeof InspectionReason)[keyof typeof InspectionReason];

/** Thrown inside the inspection to stop it; `inspectFile` turns it into an uninspectable result. */
export class UninspectableError extends Error {
  override name = "UninspectableError";
  constructor(
    readonly reason: InspectionReason,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}
