import * as equal from "ajv/dist/runtime/equal.js";
import * as ucs2length from "ajv/dist/runtime/ucs2length.js";
import * as uri from "ajv/dist/runtime/uri.js";
import * as validationError from "ajv/dist/runtime/validation_error.js";
import * as formats from "ajv-formats/dist/formats.js";

/** A validator as ajv generates it: true when valid, else `errors` says why. */
export interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** A CommonJS module's exports as the import gave them: Bun run from source and the compiled binary nest `default` differently. */
function commonJsExports(namespace: Record<string, unknown>): Record<string, unknown> {
  const inner = namespace.default;
  return typeof inner === "object" && inner !== null ? (inner as Record<string, unknown>) : namespace;
}

/** The modules a generated validator may `require`: ajv's run-time helpers and ajv-formats' formats. */
const RUNTIME_MODULES: Record<string, Record<string, unknown>> = {
  "ajv/dist/runtime/equal": commonJsExports(equal),
  "ajv/dist/runtime/ucs2length": commonJsExports(ucs2length),
  "ajv/dist/runtime/uri": commonJsExports(uri),
  "ajv/dist/runtime/validation_error": commonJsExports(validationError),
  "ajv-formats/dist/formats": commonJsExports(formats),
};

function requireRuntime(name: string): unknown {
  const module = RUNTIME_MODULES[name];
  if (module === undefined) throw new Error(`A generated validator required '${name}', which is not an ajv run-time module`);
  return module;
}

/**
 * Instantiates a validator from the source ajv's standalone mode generated
 * (SchemaCodegen). Costs a parse of the source, far less than generating it.
 */
export function loadValidator(source: string): GeneratedValidator {
  const module: { exports: unknown } = { exports: {} };
  new Function("require", "module", "exports", source)(requireRuntime, module, module.exports);
  return module.exports as GeneratedValidator;
}

/** ajv's `errorsText`, without an ajv instance on this thread. */
export function errorsText(errors: GeneratedValidator["errors"], dataVar: string): string {
  if (!errors || errors.length === 0) return "No errors";
  return errors.map((e) => `${dataVar}${e.instancePath} ${e.message}`).join(", ");
}
