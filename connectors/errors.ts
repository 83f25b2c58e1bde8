// Errors a connector throws so the relay can tell a retry from a dead letter.

/** Worth retrying: network errors, timeouts, 5xx, 429. */
export class ConnectorTransientError extends Error {
  override name = "ConnectorTransientError";
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The cloud asked us to wait: retry after `retryAfterMs`. */
export class ConnectorRateLimitedError extends ConnectorTransientError {
  override name = "ConnectorRateLimitedError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message, 429);
  }
}

/** Retrying cannot help (bad channel, rejected credentials, 4xx): dead-letter it. */
export class ConnectorPermanentError extends Error {
  override name = "ConnectorPermanentError";
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
