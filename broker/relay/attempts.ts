// Failed calls per message and connector, in memory. Only a connector's own failures count toward
// `maxAttempts`: a redelivery caused by PostgreSQL or NATS being away must not use them up. At most
// one entry per partition at a time; after a restart the count starts again, which errs towards
// more retries, never fewer.
interface Entry {
  failures: number;
  /** The last failure left it open whether the cloud got the call (timeout, network error, 5xx). */
  unknownOutcome: boolean;
}

export interface Attempts {
  /**
   * Whether an earlier call may have landed: known from our own failures, else assumed after a
   * redelivery (the process that tried before may have crashed mid-call).
   */
  maybeSent(key: string, redelivered: boolean): boolean;
  /** Counts a failure and returns how many there were. */
  failed(key: string, unknownOutcome: boolean): number;
  /** Drops the entry of `key`, or of every key that starts with `key + ":"`. */
  forget(key: string): void;
}

export function createAttempts(): Attempts {
  const entries = new Map<string, Entry>();
  return {
    maybeSent(key, redelivered) {
      const entry = entries.get(key);
      return entry ? entry.unknownOutcome : redelivered;
    },
    failed(key, unknownOutcome) {
      const entry = entries.get(key) ?? { failures: 0, unknownOutcome: false };
      entry.failures += 1;
      // Once unknown, it stays so: a later 429 says nothing about the earlier timeout.
      entry.unknownOutcome ||= unknownOutcome;
      entries.set(key, entry);
      return entry.failures;
    },
    forget(key) {
      entries.delete(key);
      for (const known of entries.keys()) if (known.startsWith(`${key}:`)) entries.delete(known);
    },
  };
}
