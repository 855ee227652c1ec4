import { Command, InvalidArgumentError } from "commander";
import type { Event } from "../../client/types.ts";
import { type CliIO, contextOf } from "./context.ts";
import { csvHeader, render, renderRow } from "./output.ts";

const COLUMNS = ["id", "timestamp", "type", "payload"];

/**
 * `events <topic>`: a page of a topic's events, or with --follow every event
 * from then on (long-poll), until the process is interrupted (Ctrl-C ends it
 * as it ends any command; nothing is left to flush).
 */
export function eventsCommand(io: CliIO): Command {
  return new Command("events")
    .description("Read a topic's events; --follow keeps printing new ones as they are published")
    .argument("<topic>")
    .option("--since <eventId>", "only events after this id")
    .option("--date <YYYY-MM-DD>", "only events stored on this UTC date")
    .option("--limit <n>", "most events to print", positiveInteger)
    .option("-f, --follow", "after the stored events, wait for new ones (long-poll) until interrupted")
    .action(async (topic: string, options: { since?: string; date?: string; limit?: number; follow?: boolean }, command: Command) => {
      const ctx = contextOf(command, io);
      if (!options.follow) {
        const events = await ctx.client.getEvents(topic, { sinceEventId: options.since, date: options.date, limit: options.limit });
        io.stdout(render(ctx.output, { value: { events }, rows: events as unknown as Record<string, unknown>[], columns: COLUMNS }));
        return;
      }
      // Streams one line per event: a table has no header to wait for, CSV gets its header first.
      if (ctx.output === "csv") io.stdout(csvHeader(COLUMNS));
      let printed = 0;
      for await (const event of ctx.client.streamEvents(topic, options.since ? { sinceEventId: options.since } : {})) {
        io.stdout(renderRow(ctx.output, event as Event & Record<string, unknown>, COLUMNS));
        if (options.limit !== undefined && ++printed >= options.limit) break;
      }
    });
}

export function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
}
