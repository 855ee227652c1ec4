import type { LogFormat, LogLevel } from "../config.ts";

/** Extra structured data of a log line; in `json` format each becomes a key of the object. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** @default "text" */
  format?: LogFormat;
  /** @default "info" */
  level?: LogLevel;
  /** Where a finished line goes; debug/info to stdout and warn/error to stderr by default. */
  write?: (line: string, level: LogLevel) => void;
  /** @default Date.now */
  clock?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A logger for the server's own messages. `text` keeps the lines people
 * read today (the message; an `error` field is appended); `json` writes one
 * object per line — `{"time","level","message",...fields}` — for a log shipper.
 * Errors among the fields are flattened to their message, since
 * `JSON.stringify` would turn them into `{}`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? "text";
  const threshold = RANK[options.level ?? "info"];
  const write = options.write ?? defaultWrite;
  const clock = options.clock ?? Date.now;
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (RANK[level] < threshold) return;
    write(format === "json" ? jsonLine(clock(), level, message, fields) : textLine(message, fields), level);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function defaultWrite(line: string, level: LogLevel): void {
  if (RANK[level] >= RANK.warn) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

function jsonLine(time: number, level: LogLevel, message: string, fields: LogFields | undefined): string {
  const entry: Record<string, unknown> = { time: new Date(time).toISOString(), level, message };
  if (fields) for (const [key, value] of Object.entries(fields)) if (!(key in entry)) entry[key] = plain(value);
  return JSON.stringify(entry);
}

/** The line people have always read: the message alone (fields repeat it for machines), plus an error and its stack. */
function textLine(message: string, fields: LogFields | undefined): string {
  if (fields?.error === undefined) return message;
  const line = `${message}: ${String(plain(fields.error))}`;
  return typeof fields.stack === "string" ? `${line}\n${fields.stack}` : line;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return value.cause instanceof Error ? `${value.message} (${value.cause.message})` : value.message;
  return value;
}
