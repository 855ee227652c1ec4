import { Command } from "commander";
import { type CliIO, contextOf } from "./context.ts";
import { positiveInteger } from "./events.ts";
import { DEFAULT_BULK_BATCH_CHARS, DEFAULT_BULK_BATCH_SIZE, ndjsonBatches } from "./ndjson-batches.ts";
import { render } from "./output.ts";
import { ProgressBar } from "./progress.ts";
import { openInput, parseJsonArgument } from "./read-input.ts";
import { UsageError } from "./usage-error.ts";

interface PublishOptions {
  file?: string;
  batchSize: number;
  key?: string;
  keyPrefix: string;
  progress: boolean;
}

/**
 * `publish <topic> <type> [payload]`: one event. `publish <topic> [type]
 * --file <path|->`: NDJSON in batches, one after another so the topic keeps
 * the file's order, each under an Idempotency-Key derived from its content
 * and position (see ndjson-batches.ts).
 */
export function publishCommand(io: CliIO): Command {
  return new Command("publish")
    .description("Publish one event, or NDJSON in batches from a file or stdin (--file)")
    .argument("<topic>", "the topic (NDJSON lines may name their own)")
    .argument("[type]", "the event type; with --file, each line is then a payload of this type")
    .argument("[payload]", "the event's payload as JSON (default {})")
    .option("-F, --file <path>", 'NDJSON input, one event per line ({"type","payload"[,"topic"]}, or payloads when <type> is given); - reads stdin')
    .option("--batch-size <n>", "events per request with --file", positiveInteger, DEFAULT_BULK_BATCH_SIZE)
    .option("--key <key>", "Idempotency-Key of a single publish")
    .option("--key-prefix <prefix>", "start of the Idempotency-Keys of a bulk publish", "cli")
    .option("--no-progress", "no progress bar on stderr")
    .action(async (topic: string, type: string | undefined, payload: string | undefined, options: PublishOptions, command: Command) => {
      const ctx = contextOf(command, io);
      if (options.file === undefined) {
        if (type === undefined) throw new UsageError("publish needs an event type, or --file with NDJSON");
        const value = payload === undefined ? {} : parseJsonArgument(payload, "the payload");
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError("the payload must be a JSON object");
        const id = await ctx.client.publishEvent(topic, type, value as Record<string, unknown>, options.key === undefined ? {} : { idempotencyKey: options.key });
        io.stdout(render(ctx.output, { value: { eventId: id }, rows: [{ eventId: id }], columns: ["eventId"] }));
        return;
      }
      if (payload !== undefined) throw new UsageError("a payload argument and --file exclude each other");
      const { stream, size } = await openInput(options.file, io);
      const progress = options.progress && io.stderrIsTTY ? new ProgressBar(io.stderr, size) : null;
      const started = performance.now();
      let published = 0;
      let batches = 0;
      let bytes = 0;
      const source = ndjsonBatches(stream, {
        topic,
        ...(type === undefined ? {} : { type }),
        batchSize: options.batchSize,
        batchChars: DEFAULT_BULK_BATCH_CHARS,
        keyPrefix: options.keyPrefix,
      });
      // The next batch is read and parsed while the current one is on its way.
      let next = source.next();
      for (;;) {
        const { value: batch, done } = await next;
        if (done) break;
        const sent = ctx.client.publishEvents(batch.events, { idempotencyKey: batch.key });
        next = source.next();
        try {
          await sent;
        } catch (error) {
          progress?.done(published, bytes);
          io.stderr(`publish: lines ${batch.firstLine}-${batch.lastLine} were not stored; ${published} events before them were (a re-run stores nothing twice)\n`);
          // The prefetched read may fail too; its error is not the one to report.
          next.catch(() => undefined);
          throw error;
        }
        published += batch.events.length;
        bytes = batch.bytesRead;
        batches++;
        progress?.update(published, bytes);
      }
      progress?.done(published, bytes);
      const seconds = (performance.now() - started) / 1000;
      const summary = { published, batches, seconds: Number(seconds.toFixed(3)), eventsPerSecond: Math.round(published / Math.max(seconds, 1e-9)) };
      io.stdout(render(ctx.output, { value: summary, rows: [summary], columns: ["published", "batches", "seconds", "eventsPerSecond"] }));
    });
}
