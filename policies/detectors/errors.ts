/** A detector definition the scanner cannot use; names the detector and says why. */
export class DetectorCompileError extends Error {
  override readonly name = "DetectorCompileError";
  readonly detectorType: string;
  readonly reason: string;

  constructor(detectorType: string, reason: string, options?: { cause?: unknown }) {
    super(`detector "${detectorType}": ${reason}`, options);
    this.detectorType = detectorType;
    this.reason = reason;
  }
}
