import { Command } from "commander";
import type { ConsumerDetails, ConsumerSummary } from "../../client/types.ts";
import { type CliContext, type CliIO, contextOf } from "./context.ts";
import { type Row, render } from "./output.ts";
import { UsageError } from "./usage-error.ts";

const COLUMNS = ["id", "status", "callback", "lag", "lagSeconds", "lastError", "nextAttemptAt"];

function row(consumer: ConsumerSummary | ConsumerDetails): Row {
  const progress = Object.values(consumer.progress ?? {});
  return {
    id: consumer.id,
    status: consumer.status ?? null,
    callback: consumer.callback,
    lag: Object.entries(consumer.lag ?? {}).map(([topic, lag]) => `${topic}:${lag}`).join(" "),
    lagSeconds: progress.length === 0 ? null : Math.max(...progress.map((p) => p.lagSeconds)),
    lastError: consumer.lastError ?? null,
    nextAttemptAt: consumer.nextAttemptAt ?? null,
  };
}

/** `consumers list|get|register|delete|resume`. */
export function consumersCommand(io: CliIO): Command {
  const consumers = new Command("consumers").description("List, inspect, register, delete and resume webhook consumers");
  const run = (command: Command, work: (ctx: CliContext) => Promise<void>) => work(contextOf(command, io));

  consumers
    .command("list")
    .description("Every consumer with its state and lag per topic")
    .action((_options, command: Command) =>
      run(command, async (ctx) => {
        const list = await ctx.client.getConsumers();
        io.stdout(render(ctx.output, { value: { consumers: list }, rows: list.map(row), columns: COLUMNS }));
      }),
    );
  consumers
    .command("get")
    .description("One consumer: cursors, lag, state, last error")
    .argument("<id>")
    .action((id: string, _options, command: Command) =>
      run(command, async (ctx) => {
        const consumer = await ctx.client.getConsumer(id);
        io.stdout(render(ctx.output, { value: consumer, rows: [row(consumer)], columns: COLUMNS }));
      }),
    );
  consumers
    .command("register")
    .description("Register a webhook consumer")
    .requiredOption("-c, --callback <url>", "URL the events are POSTed to")
    .requiredOption("-t, --topic <name[=eventId]...>", "a topic, from its start or after an event id (repeatable)", collect, [])
    .option("--secret <whsec>", "signing secret (generated when absent)")
    .action((options: { callback: string; topic: string[]; secret?: string }, command: Command) =>
      run(command, async (ctx) => {
        const topics: Record<string, string | null> = {};
        for (const spec of options.topic) {
          const eq = spec.indexOf("=");
          if (eq === 0) throw new UsageError(`--topic '${spec}' names no topic`);
          if (eq === -1) topics[spec] = null;
          else topics[spec.slice(0, eq)] = spec.slice(eq + 1);
        }
        const registered = await ctx.client.registerConsumerWithSecret({ callback: options.callback, topics, ...(options.secret ? { secret: options.secret } : {}) });
        io.stdout(render(ctx.output, { value: registered, rows: [registered as unknown as Row], columns: ["consumerId", "secret"] }));
      }),
    );
  consumers
    .command("delete")
    .description("Unregister a consumer")
    .argument("<id>")
    .action((id: string, _options, command: Command) =>
      run(command, async (ctx) => {
        await ctx.client.unregisterConsumer(id);
        const value = { message: `Consumer ${id} unregistered` };
        io.stdout(render(ctx.output, { value, rows: [value], columns: ["message"] }));
      }),
    );
  consumers
    .command("resume")
    .description("Resume a paused or retrying consumer now")
    .argument("<id>")
    .action((id: string, _options, command: Command) =>
      run(command, async (ctx) => {
        await ctx.client.resumeConsumer(id);
        const value = { message: `Consumer ${id} resumed` };
        io.stdout(render(ctx.output, { value, rows: [value], columns: ["message"] }));
      }),
    );
  return consumers;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
