/**
 * The schema worker's entry (see SchemaCompiler): generates validator
 * sources off the thread that answers requests, and keeps the validators
 * too large to instantiate there, checking payloads against them.
 */
import { runThisThreadInBackground } from "../os/thread-priority.ts";
import { SchemaCodegen, type SchemaDraft } from "./schema-codegen.ts";
import { errorsText, type GeneratedValidator, loadValidator } from "./validator-module.ts";

export type WorkerRequest =
  /** Generate a validator's source; keep the validator here when the source is longer than `keepAbove`. */
  | { op: "generate"; id: number; schemaJson: string; draft: SchemaDraft; keepAbove: number }
  /** Check payloads (their JSON) against the validator kept as `validator`. */
  | { op: "check"; id: number; validator: number; payloadsJson: string[] }
  /** Forget the validator kept as `validator`. */
  | { op: "drop"; validator: number };

export type WorkerReply =
  | { id: number; source: string }
  | { id: number; kept: true }
  | { id: number; failures: (string | null)[] }
  | { id: number; error: string };

declare const self: Worker;

// Compiling a large schema takes a CPU for up to seconds; on a machine with few cores it must not take turns with the request thread.
runThisThreadInBackground();

const codegen = new SchemaCodegen();
const kept = new Map<number, GeneratedValidator>();

function answer(request: WorkerRequest): WorkerReply | null {
  switch (request.op) {
    case "generate": {
      const source = codegen.generate(JSON.parse(request.schemaJson) as object, request.draft);
      if (source.length <= request.keepAbove) return { id: request.id, source };
      // Kept here; its source (megabytes for the largest schemas) is not copied back.
      kept.set(request.id, loadValidator(source));
      return { id: request.id, kept: true };
    }
    case "check": {
      const validate = kept.get(request.validator);
      if (validate === undefined) return { id: request.id, error: `No validator ${request.validator} is kept` };
      return { id: request.id, failures: request.payloadsJson.map((json) => (validate(JSON.parse(json)) ? null : errorsText(validate.errors, "payload"))) };
    }
    case "drop":
      kept.delete(request.validator);
      return null;
  }
}

self.onmessage = ({ data }: MessageEvent<WorkerRequest>) => {
  let reply: WorkerReply | null;
  try {
    reply = answer(data);
  } catch (error) {
    reply = "id" in data ? { id: data.id, error: error instanceof Error ? error.message : String(error) } : null;
  }
  if (reply !== null) self.postMessage(reply);
};
