// Exponential backoff with jitter: the delay before delivery attempt `attempt + 1`.
export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** "Equal jitter": half fixed, half random, so retries spread out yet never come too soon. */
export function backoffDelay(
  attempt: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
