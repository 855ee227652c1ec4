import Ajv07, { type ValidateFunction } from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { InvalidSchemaError } from "../errors.ts";

/** A topic's schema for one event type, as the API accepts and returns it. */
export interface EventSchema {
  eventType: string;
  $schema?: string;
  [keyword: string]: unknown;
}

export type PayloadValidator = (payload: unknown) => string | null;

const AJV_OPTIONS = { strict: false, addUsedSchema: false, logger: false } as const;
const DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema";
const MAX_EVENT_TYPE_LENGTH = 256;

/**
 * Compiles event schemas with ajv. One compiler serves every topic; compiled
 * validators are kept by the topic registry, so compiling happens once per
 * (topic, eventType) at creation or load, never on the publish path.
 */
export class SchemaCompiler {
  // addUsedSchema: false keeps `$id`s of one topic's schemas from colliding
  // with another topic's. strict: false accepts annotation keywords users add.
  // logger: false: on a schema it cannot compile, ajv would print the whole
  // generated function (megabytes for a large schema) once per request.
  private readonly draft2020 = addFormats(new Ajv2020({ ...AJV_OPTIONS }));
  private readonly draft07 = addFormats(new Ajv07({ ...AJV_OPTIONS }));

  /** Checks one schema and returns a validator; throws InvalidSchemaError. */
  compile(schema: unknown, index: number): { eventType: string; validate: PayloadValidator } {
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
    const ajv = this.pickDraft(jsonSchema.$schema, where);
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(jsonSchema);
    } catch (error) {
      throw new InvalidSchemaError(`${where} (${eventType}) is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
    }
    return {
      eventType,
      validate: (payload) => (validate(payload) ? null : ajv.errorsText(validate.errors, { dataVar: "payload" })),
    };
  }

  private pickDraft(metaSchema: unknown, where: string): Ajv07 {
    if (metaSchema === undefined) return this.draft2020;
    if (typeof metaSchema === "string") {
      const normalized = metaSchema.replace(/#$/, "").replace(/^http:/, "https:");
      if (normalized === DRAFT_2020) return this.draft2020;
      if (normalized === "https://json-schema.org/draft-07/schema") return this.draft07;
    }
    throw new InvalidSchemaError(`${where}.$schema must be draft 2020-12 (${DRAFT_2020}) or draft-07 (http://json-schema.org/draft-07/schema#)`);
  }
}
