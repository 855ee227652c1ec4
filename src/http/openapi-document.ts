import { STATUS_CODES } from "node:http";

type JsonObject = Record<string, unknown>;

/** Every request body is parsed as JSON (`json-body.ts`) and every answer is JSON. */
const MEDIA_TYPE = "application/json";

/**
 * Turns the document `@elysiajs/swagger` generates into a valid OpenAPI 3.1
 * document. The plugin copies a response schema's own keywords (`examples`,
 * `description`) onto the Response Object, where `examples` is invalid and a
 * `description` is required; it offers form-data and text media types the
 * API does not accept; and it copies a parameter's `examples` array where
 * OpenAPI wants a map. Here: one media type, `application/json`; every
 * response has a description (its schema's, else the status text) and its
 * schema's examples as named media-type examples (an error's `code` names it);
 * parameter examples become maps; a request schema wrapped in a one-element
 * `allOf` (how models.ts declares the publish body) is unwrapped; `servers`
 * lists `origin`, the server as the client reached it. Returns a copy: the
 * plugin caches its own.
 */
export function publishedDocument(generated: unknown, origin?: string): JsonObject {
  const document = JSON.parse(JSON.stringify(generated)) as JsonObject;
  if (origin !== undefined) document.servers = [{ url: origin }];
  for (const pathItem of Object.values(objectOrEmpty(document.paths))) {
    for (const operation of Object.values(objectOrEmpty(pathItem))) {
      if (!isObject(operation)) continue;
      if (isObject(operation.requestBody)) operation.requestBody.content = requestContent(operation.requestBody.content);
      if (Array.isArray(operation.parameters)) operation.parameters = operation.parameters.map(parameter);
      operation.responses = Object.fromEntries(
        Object.entries(objectOrEmpty(operation.responses)).map(([status, generated]) => [status, response(status, generated)]),
      );
    }
  }
  return document;
}

function requestContent(content: unknown): JsonObject | undefined {
  const json = jsonOnly(content);
  const media = json?.[MEDIA_TYPE];
  if (isObject(media)) media.schema = withoutSingleAllOf(media.schema);
  return json;
}

function withoutSingleAllOf(schema: unknown): unknown {
  if (!isObject(schema) || !Array.isArray(schema.allOf) || schema.allOf.length !== 1) return schema;
  const { allOf, ...own } = schema;
  return { ...objectOrEmpty(allOf[0]), ...own };
}

function response(status: string, generated: unknown): JsonObject {
  const { description, content, examples, headers, links } = objectOrEmpty(generated);
  const published: JsonObject = {
    description: typeof description === "string" && description !== "" ? description : (STATUS_CODES[status] ?? "Response"),
  };
  const json = jsonOnly(content);
  const media = json?.[MEDIA_TYPE];
  if (isObject(media) && Array.isArray(examples) && examples.length > 0) media.examples = exampleMap(examples);
  if (json !== undefined) published.content = json;
  if (headers !== undefined) published.headers = headers;
  if (links !== undefined) published.links = links;
  return published;
}

function parameter(generated: unknown): unknown {
  if (!isObject(generated) || !Array.isArray(generated.examples)) return generated;
  return { ...generated, examples: exampleMap(generated.examples) };
}

function jsonOnly(content: unknown): JsonObject | undefined {
  if (!isObject(content)) return undefined;
  const media = content[MEDIA_TYPE];
  return media === undefined ? content : { [MEDIA_TYPE]: media };
}

function exampleMap(values: readonly unknown[]): JsonObject {
  const map: JsonObject = {};
  values.forEach((value, i) => {
    const code = isObject(value) && typeof value.code === "string" ? value.code : undefined;
    let name = code ?? (values.length === 1 ? "example" : `example-${i + 1}`);
    for (let n = 2; name in map; n++) name = `${code ?? "example"}-${n}`;
    map[name] = { value };
  });
  return map;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function objectOrEmpty(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}
