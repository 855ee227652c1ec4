import { describe, expect, test } from "bun:test";
import type { LogLevel } from "../src/config.ts";
import { createLogger } from "../src/logging/logger.ts";

function capture(format: "text" | "json", level: LogLevel = "info") {
  const lines: { line: string; level: LogLevel }[] = [];
  const logger = createLogger({ format, level, clock: () => Date.UTC(2025, 0, 15, 10, 30), write: (line, lineLevel) => lines.push({ line, level: lineLevel }) });
  return { logger, lines };
}

describe("createLogger", () => {
  test("json: one object per line with time, level, message and the fields; errors become their message", () => {
    const { logger, lines } = capture("json");
    logger.info("listening on http://127.0.0.1:8000 (data: d)", { url: "http://127.0.0.1:8000", port: 8000 });
    logger.error("unexpected error", { error: new Error("disk", { cause: new Error("EIO") }) });
    expect(lines.map((l) => JSON.parse(l.line))).toEqual([
      { time: "2025-01-15T10:30:00.000Z", level: "info", message: "listening on http://127.0.0.1:8000 (data: d)", url: "http://127.0.0.1:8000", port: 8000 },
      { time: "2025-01-15T10:30:00.000Z", level: "error", message: "unexpected error", error: "disk (EIO)" },
    ]);
    expect(lines.map((l) => l.level)).toEqual(["info", "error"]);
  });

  test("text: the message as before, an error appended", () => {
    const { logger, lines } = capture("text");
    logger.warn("consumer x removed", { consumer: "x" });
    logger.error("shutdown failed", { error: new Error("EIO") });
    expect(lines.map((l) => l.line)).toEqual(["consumer x removed", "shutdown failed: EIO"]);
  });

  test("LOG_LEVEL drops what is less severe", () => {
    const { logger, lines } = capture("text", "warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => `${l.level}:${l.line}`)).toEqual(["warn:w", "error:e"]);
    const debug = capture("json", "debug");
    debug.logger.debug("d");
    expect(debug.lines).toHaveLength(1);
  });
});
