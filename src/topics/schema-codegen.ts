import Ajv07 from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import addFormats from "ajv-formats";

/** The JSON Schema drafts a topic's schemas may be written in. */
export type SchemaDraft = "2020-12" | "draft-07";

// addUsedSchema: false keeps `$id`s of one topic's schemas from colliding
// with another topic's. strict: false accepts annotation keywords users add.
// logger: false: on a schema it cannot compile, ajv would print the whole
// generated function (megabytes for a large schema) once per request.
// code.source: the validator is generated here and instantiated elsewhere
// (the publishing thread), so its source is what is handed over.
const AJV_OPTIONS = { strict: false, addUsedSchema: false, logger: false, code: { source: true } } as const;

/**
 * Generates a validator's source with ajv: the expensive part of compiling
 * a schema (tens of milliseconds per hundred properties), which is why it
 * runs on the schema worker, never on the thread answering requests. Throws
 * ajv's own error for a schema it cannot compile.
 */
export class SchemaCodegen {
  private readonly drafts: Record<SchemaDraft, Ajv07> = {
    "2020-12": addFormats(new Ajv2020({ ...AJV_OPTIONS })),
    "draft-07": addFormats(new Ajv07({ ...AJV_OPTIONS })),
  };

  /** The CommonJS source of the schema's validator (see `loadValidator`). */
  generate(schema: object, draft: SchemaDraft): string {
    const ajv = this.drafts[draft];
    try {
      return standaloneCode(ajv, ajv.compile(schema));
    } finally {
      // ajv caches every compiled schema by its object; each request brings a new one.
      ajv.removeSchema(schema);
    }
  }
}
