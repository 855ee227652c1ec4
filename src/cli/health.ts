import { Command } from "commander";
import { type CliIO, contextOf } from "./context.ts";
import { render } from "./output.ts";

/** `health`: GET /health; exit 0 when the server answers healthy. */
export function healthCommand(io: CliIO): Command {
  return new Command("health").description("Check that the server is up (GET /health)").action(async (_options, command: Command) => {
    const ctx = contextOf(command, io);
    const health = await ctx.client.getHealth();
    io.stdout(render(ctx.output, { value: health, rows: [health as unknown as Record<string, unknown>], columns: ["status", "consumers", "runningDispatchers"] }));
  });
}
