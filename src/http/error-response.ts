import { ParseError, ValidationError } from "elysia";
import { EventStoreError, InternalError, InvalidRequestError, MalformedJsonError, NestingTooDeepError, RouteNotFoundError } from "../errors.ts";

export interface ErrorBody {
  error: string;
  code: string;
  [detail: string]: unknown;
}

/**
 * The one place errors become responses: `{"error", "code"}` plus the
 * error's details. Anything that is not an EventStoreError is reported to
 * `log` and answered with a generic 500 that reveals no path or stack.
 */
export function toErrorResponse(code: string | number, error: unknown, log: (error: unknown) => void): Response {
  const known = classify(code, error);
  if (known instanceof InternalError) log(error);
  const body: ErrorBody = { error: known.message, code: known.code, ...known.details };
  return new Response(JSON.stringify(body), {
    status: known.status,
    headers: { ...known.headers, "content-type": "application/json" },
  });
}

function classify(code: string | number, error: unknown): EventStoreError {
  if (error instanceof EventStoreError) return error;
  if (error instanceof ParseError) {
    return error.cause instanceof EventStoreError ? error.cause : new MalformedJsonError({ cause: error });
  }
  if (error instanceof ValidationError) return validationError(error);
  if (code === "NOT_FOUND") return new RouteNotFoundError();
  // Request values are walked recursively (JSON parsing, schema checks); only
  // input nested deep enough to exhaust the stack gets this far as a RangeError.
  if (error instanceof RangeError) return new NestingTooDeepError(undefined, { cause: error });
  return new InternalError({ cause: error });
}

function validationError(error: ValidationError): EventStoreError {
  const first = error.all[0] as { summary?: string; message?: string; path?: string } | undefined;
  const detail = first?.summary ?? first?.message ?? "invalid value";
  const where = error.type === "body" ? "request body" : `${error.type} parameter`;
  return new InvalidRequestError(`Invalid ${where}: ${detail}`);
}
