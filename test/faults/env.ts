// Sizes of the fault runs, overridable from the environment (FAULTS_*).

/** A positive whole number from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive whole number, not '${raw}'`);
  return value;
}
