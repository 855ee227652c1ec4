import type { LoadGenerator } from "./load.ts";
import type { BenchPlan } from "./plan.ts";
import type { ServerCommand } from "./server-process.ts";

/** What every section gets from the runner. */
export interface BenchContext {
  plan: BenchPlan;
  generator: LoadGenerator;
  ours: ServerCommand;
  ceiling: ServerCommand;
  /** Progress lines on stderr, so stdout stays the table. */
  progress(message: string): void;
}
