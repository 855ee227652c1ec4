import { Command } from "commander";
import type { Schema } from "../../client/types.ts";
import { type CliContext, type CliIO, contextOf } from "./context.ts";
import { type Row, render } from "./output.ts";
import { readJson } from "./read-input.ts";
import { UsageError } from "./usage-error.ts";

const COLUMNS = ["name", "sequence", "createdAt", "eventTypes"];

interface TopicInfo {
  name: string;
  sequence: number;
  createdAt?: string;
  schemas: Schema[];
}

function row(topic: TopicInfo): Row {
  return { name: topic.name, sequence: topic.sequence, createdAt: topic.createdAt ?? null, eventTypes: topic.schemas.map((s) => s.eventType).join(" ") };
}

/** `topics list|get|create|update`. */
export function topicsCommand(io: CliIO): Command {
  const topics = new Command("topics").description("List, show, create and update topics");
  const run = (command: Command, work: (ctx: CliContext) => Promise<void>) => work(contextOf(command, io));

  topics
    .command("list")
    .description("Every topic with its head sequence, creation time and event types")
    .action((_options, command: Command) =>
      run(command, async (ctx) => {
        const names = await ctx.client.getTopics();
        const details = (await Promise.all(names.map((name) => ctx.client.getTopic(name)))) as TopicInfo[];
        io.stdout(render(ctx.output, { value: { topics: details }, rows: details.map(row), columns: COLUMNS }));
      }),
    );
  topics
    .command("get")
    .description("One topic with its schemas")
    .argument("<name>")
    .action((name: string, _options, command: Command) =>
      run(command, async (ctx) => {
        const topic = (await ctx.client.getTopic(name)) as TopicInfo;
        io.stdout(render(ctx.output, { value: topic, rows: [row(topic)], columns: COLUMNS }));
      }),
    );
  for (const verb of ["create", "update"] as const) {
    topics
      .command(verb)
      .description(verb === "create" ? "Create a topic with its schemas" : "Replace a topic's schemas")
      .argument("<name>")
      .requiredOption("-s, --schemas <file>", "JSON file with the schemas ([...] or {\"schemas\": [...]}); - reads stdin")
      .action((name: string, options: { schemas: string }, command: Command) =>
        run(command, async (ctx) => {
          const schemas = schemaList(await readJson(options.schemas, io, "the schemas"));
          if (verb === "create") await ctx.client.createTopic(name, schemas);
          else await ctx.client.updateTopicSchemas(name, schemas);
          const value = { name, [verb === "create" ? "created" : "updated"]: true, eventTypes: schemas.map((s) => s.eventType) };
          io.stdout(render(ctx.output, { value, rows: [{ name, eventTypes: value.eventTypes.join(" ") }], columns: ["name", "eventTypes"] }));
        }),
      );
  }
  return topics;
}

function schemaList(value: unknown): Schema[] {
  const list = Array.isArray(value) ? value : (value as { schemas?: unknown } | null)?.schemas;
  if (!Array.isArray(list)) throw new UsageError('the schemas must be a JSON array, or an object {"schemas": [...]}');
  return list as Schema[];
}
