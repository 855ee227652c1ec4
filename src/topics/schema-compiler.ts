import { InvalidSchemaError } from "../errors.ts";
import { SchemaCodegen, type SchemaDraft } from "./schema-codegen.ts";
import type { WorkerReply, WorkerRequest } from "./schema-worker.ts";
import { errorsText, loadValidator } from "./validator-module.ts";

/** A topic's schema for one event type, as the API accepts and returns it. */
export interface EventSchema {
  eventType: string;
  $schema?: string;
  [keyword: string]: unknown;
}

/** Checks one payload on this thread: null when valid, else why not. */
export type LocalValidator = (payload: unknown) => string | null;

/**
 * A validator kept on the schema worker: checks a request's payloads in one
 * round trip. It takes their JSON (as stored), which crosses to the worker as
 * strings: copying the objects would cost this thread milliseconds per MiB.
 */
export interface RemoteValidator {
  checkAll(payloadsJson: readonly string[]): Promise<(string | null)[]>;
}

export type PayloadValidator = LocalValidator | RemoteValidator;

/** Set by `build.ts` through `define` in the compiled binary; beside this module when run from source. */
declare const EVENT_STORE_SCHEMA_WORKER: string | undefined;

const DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema";
const MAX_EVENT_TYPE_LENGTH = 256;

/**
 * Longest validator source instantiated on the thread answering requests.
 * Instantiating costs about 0.08 ms per KiB of source (a parse, then
 * bytecode on the first check), so this keeps it under ~5 ms: about 100
 * simple properties. Longer validators are kept on the schema worker.
 * @default 64 KiB
 */
export const DEFAULT_MAX_LOCAL_VALIDATOR_BYTES = 64 * 1024;

export interface SchemaCompilerOptions {
  /** Generate and keep every validator on this thread instead of the schema worker. @default false (true where Workers are unavailable) */
  inProcess?: boolean;
  /** @default DEFAULT_MAX_LOCAL_VALIDATOR_BYTES */
  maxLocalValidatorBytes?: number;
  /** Told once when the worker cannot start or dies. @default console.warn */
  report?: (message: string) => void;
}

/**
 * Compiles event schemas with ajv. Generating a validator costs tens of
 * milliseconds per hundred properties and seconds for the largest schemas
 * allowed, so it runs on a worker thread; a validator small enough to
 * instantiate in a few milliseconds is instantiated here, a larger one is
 * kept and run on the worker. No schema holds up the requests answered
 * meanwhile. Compiled validators are kept by the topic registry, so
 * compiling happens once per (topic, eventType) at creation or load.
 */
export class SchemaCompiler {
  private readonly inProcess: boolean;
  private readonly maxLocalValidatorBytes: number;
  private readonly report: (message: string) => void;
  private codegen: SchemaCodegen | null = null;
  private worker: SchemaWorker | null = null;
  private readonly pending = new Map<number, PromiseWithResolvers<WorkerReply>>();
  private nextId = 1;
  /** Set when the worker could not start or died: validators are generated and kept here, correct but on this thread. */
  private workerFailed = false;
  /** Tells the worker to forget a kept validator once no topic holds it. */
  private readonly forget = new FinalizationRegistry<number>((validator) => this.worker?.postMessage({ op: "drop", validator } satisfies WorkerRequest));

  constructor(options: SchemaCompilerOptions = {}) {
    this.inProcess = options.inProcess ?? false;
    this.report = options.report ?? ((message) => console.warn(message));
    this.maxLocalValidatorBytes = options.maxLocalValidatorBytes ?? DEFAULT_MAX_LOCAL_VALIDATOR_BYTES;
  }

  /** Checks one schema and returns a validator; rejects with InvalidSchemaError. */
  async compile(schema: unknown, index: number): Promise<{ eventType: string; validate: PayloadValidator }> {
    const where = `schemas[${index}]`;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      throw new InvalidSchemaError(`${where} must be a JSON Schema object`);
    }
    const { eventType, ...jsonSchema } = schema as Record<string, unknown>;
    if (typeof eventType !== "string" || eventType.length === 0 || eventType.length > MAX_EVENT_TYPE_LENGTH) {
      throw new InvalidSchemaError(`${where}.eventType must be a non-empty string of at most ${MAX_EVENT_TYPE_LENGTH} characters`);
    }
    if (jsonSchema.type !== undefined && jsonSchema.type !== "object") {
      throw new InvalidSchemaError(`${where} (${eventType}): payloads are JSON objects, so "type" must be "object"`);
    }
    const draft = pickDraft(jsonSchema.$schema, where);
    try {
      return { eventType, validate: await this.build(jsonSchema, draft) };
    } catch (error) {
      // ajv recurses per keyword while generating: a schema too large for that is refused, not a server fault.
      const reason = error instanceof RangeError || /call stack/i.test((error as Error).message) ? "it is too large to compile" : (error as Error).message;
      throw new InvalidSchemaError(`${where} (${eventType}) is not a valid JSON Schema: ${reason}`, { cause: error });
    }
  }

  /** Ends the schema worker; what it still held is rejected. A later compile starts another. */
  close(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const reply of this.pending.values()) reply.reject(new Error("The schema compiler was closed"));
    this.pending.clear();
  }

  private async build(schema: object, draft: SchemaDraft): Promise<PayloadValidator> {
    const worker = this.inProcess || this.workerFailed ? null : this.startWorker();
    if (worker === null) return localValidator(this.generateHere(schema, draft));
    const id = this.nextId++;
    let reply: WorkerReply;
    try {
      // As JSON: a string crosses to the worker at memcpy speed, an object graph is cloned here node by node.
      reply = await this.ask(worker, { op: "generate", id, schemaJson: JSON.stringify(schema), draft, keepAbove: this.maxLocalValidatorBytes });
    } catch (error) {
      if (error instanceof SchemaWorkerLostError) return localValidator(this.generateHere(schema, draft));
      throw error;
    }
    if ("source" in reply) return localValidator(reply.source);
    if (!("kept" in reply)) throw new Error(("error" in reply && reply.error) || "The schema worker gave no validator");
    const remote: RemoteValidator = {
      checkAll: async (payloadsJson) => {
        const kept = this.workerFailed ? null : this.worker;
        // The worker is gone (it died, or the compiler was closed): the validator is generated here, once.
        if (kept === null) return this.checkHere(remote, schema, draft, payloadsJson);
        let answer: WorkerReply;
        try {
          answer = await this.ask(kept, { op: "check", id: this.nextId++, validator: id, payloadsJson: [...payloadsJson] });
        } catch (error) {
          if (error instanceof SchemaWorkerLostError) return this.checkHere(remote, schema, draft, payloadsJson);
          throw error;
        }
        if (!("failures" in answer)) throw new Error(("error" in answer && answer.error) || "The schema worker gave no answer");
        return answer.failures;
      },
    };
    this.forget.register(remote, id);
    return remote;
  }

  private readonly fallbacks = new WeakMap<RemoteValidator, LocalValidator>();

  private checkHere(remote: RemoteValidator, schema: object, draft: SchemaDraft, payloadsJson: readonly string[]): (string | null)[] {
    let local = this.fallbacks.get(remote);
    if (local === undefined) {
      local = localValidator(this.generateHere(schema, draft));
      this.fallbacks.set(remote, local);
    }
    return payloadsJson.map((json) => local(JSON.parse(json)));
  }

  private ask(worker: SchemaWorker, request: WorkerRequest & { id: number }): Promise<WorkerReply> {
    const reply = Promise.withResolvers<WorkerReply>();
    this.pending.set(request.id, reply);
    // Referenced only while it has work, so an idle compiler never keeps a process alive.
    worker.ref();
    worker.postMessage(request);
    return reply.promise;
  }

  private generateHere(schema: object, draft: SchemaDraft): string {
    this.codegen ??= new SchemaCodegen();
    return this.codegen.generate(schema, draft);
  }

  private startWorker(): SchemaWorker | null {
    if (this.worker !== null) return this.worker;
    if (typeof Worker === "undefined") return null;
    let worker: SchemaWorker;
    try {
      const url = typeof EVENT_STORE_SCHEMA_WORKER === "string" ? EVENT_STORE_SCHEMA_WORKER : new URL("./schema-worker.ts", import.meta.url).href;
      worker = new Worker(url) as SchemaWorker;
    } catch (error) {
      this.workerLost((error as Error).message);
      return null;
    }
    worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => this.settle(data);
    worker.onerror = (event) => {
      // A worker that cannot start or dies is not the schema's fault: from now on validators are generated and kept here.
      worker.terminate();
      this.worker = null;
      this.workerLost(event.message);
      for (const reply of this.pending.values()) reply.reject(new SchemaWorkerLostError());
      this.pending.clear();
    };
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private workerLost(reason: string): void {
    this.workerFailed = true;
    this.report(`schema worker unavailable (${reason}): schemas are compiled on the main thread from now on`);
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.pending.get(reply.id);
    if (waiting === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    waiting.resolve(reply);
  }
}

/** The worker ended while it held a request; the request is answered again on this thread. */
class SchemaWorkerLostError extends Error {}

function localValidator(source: string): LocalValidator {
  const validate = loadValidator(source);
  return (payload) => (validate(payload) ? null : errorsText(validate.errors, "payload"));
}

function pickDraft(metaSchema: unknown, where: string): SchemaDraft {
  if (metaSchema === undefined) return "2020-12";
  if (typeof metaSchema === "string") {
    const normalized = metaSchema.replace(/#$/, "").replace(/^http:/, "https:");
    if (normalized === DRAFT_2020) return "2020-12";
    if (normalized === "https://json-schema.org/draft-07/schema") return "draft-07";
  }
  throw new InvalidSchemaError(`${where}.$schema must be draft 2020-12 (${DRAFT_2020}) or draft-07 (http://json-schema.org/draft-07/schema#)`);
}

/** Bun's Worker: the DOM typing in scope lacks `ref`/`unref`. */
type SchemaWorker = Worker & { ref(): void; unref(): void };
