// Failed calls per message and connector, in memory. Only a connector's own failures count toward
// `maxAttempts`: a redelivery caused by PostgreSQL or NATS being away must not use them up. At most
// one entry per partition at a time; after a restart the count starts again, which errs towards
// more retries, never fewer.
interface Entry {
  /** Failed calls other than 429s: these count toward `maxAttempts`. */
  failures: number;
  /** 429s: the cloud asked to wait, which says nothing about the message. */
  rateLimited: number;
  /** The last failure left it open whether the cloud got the call (timeout, network error, 5xx). */
  unknownOutcome: boolean;
}

export interface Attempts {
  /**
   * Whether an earlier call may have landed: known from our own failures, else assumed after a
   * redelivery (the process that tried before may have crashed mid-call).
   */
  maybeSent(key: string, redelivered: boolean): boolean;
  /** Counts a failure and returns the counts so far. */
  failed(key: string, failure: Failure): Counts;
  /** Drops the entry of `key`, or of every key that starts with `key + ":"`. */
  forget(key: string): void;
}

export interface Failure {
  /** The call may have reached the cloud (timeout, network error, 5xx). */
  unknownOutcome: boolean;
  /** The cloud answered 429. */
  rateLimited: boolean;
}

export interface Counts {
  failures: number;
  rateLimited: number;
}

export function createAttempts(): Attempts {
  const entries = new Map<string, Entry>();
  return {
    maybeSent(key, redelivered) {
      const entry = entries.get(key);
      return entry ? entry.unknownOutcome : redelivered;
    },
    failed(key, failure) {
      const entry = entries.get(key) ?? { failures: 0, rateLimited: 0, unknownOutcome: false };
      if (failure.rateLimited) entry.rateLimited += 1;
      else entry.failures += 1;
      // Once unknown, it stays so: a later 429 says nothing about the earlier timeout.
      entry.unknownOutcome ||= failure.unknownOutcome;
      entries.set(key, entry);
      return { failures: entry.failures, rateLimited: entry.rateLimited };
    },
    forget(key) {
      entries.delete(key);
      for (const known of entries.keys()) if (known.startsWith(`${key}:`)) entries.delete(known);
    },
  };
}
