/** Structured JSON logs (pino) with the app name on every line, ready for CloudWatch/Loki. */
import pino, { Logger } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * @param app  value of the `app` field on every line
 * @param level @default process.env.LOG_LEVEL, else `info`
 */
export function createLogger(app: string, level?: LogLevel): Logger {
  return pino({
    level: level ?? process.env.LOG_LEVEL ?? 'info',
    base: { app },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Belt and braces: config never logs these, but an error object might carry them.
    redact: { paths: ['*.password', '*.KAFKA_SASL_PASSWORD', '*.secretAccessKey', '*.sessionToken'], censor: '[redacted]' },
  });
}
