// Structured JSON logs. Message text and tokens are never passed to the logger; the redaction
// list is a second line of defence for request objects.
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "watershed", pid: process.pid },
      redact: {
        paths: [
          "req.headers.authorization",
          "headers.authorization",
          "*.text",
          "*.secret",
          "*.token",
          "text",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
