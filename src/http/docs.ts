// So the `file` imports below type-check wherever this file is compiled, an app's tsc included.
/// <reference path="./embedded-assets.d.ts" />
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import { RouteNotFoundError } from "../errors.ts";
import { publishedDocument } from "./openapi-document.ts";
// `file` imports are embedded by `bun build --compile`, so the UI needs no CDN:
// the compiled binary serves Scalar's bundle and the fonts itself. By package
// specifier, so they resolve wherever the packages are installed.
import interLatinExt from "@fontsource-variable/inter/files/inter-latin-ext-wght-normal.woff2" with { type: "file" };
import interLatin from "@fontsource-variable/inter/files/inter-latin-wght-normal.woff2" with { type: "file" };
import monoLatinExt from "@fontsource-variable/jetbrains-mono/files/jetbrains-mono-latin-ext-wght-normal.woff2" with { type: "file" };
import monoLatin from "@fontsource-variable/jetbrains-mono/files/jetbrains-mono-latin-wght-normal.woff2" with { type: "file" };
import { SCALAR_BUNDLE } from "./scalar-bundle.ts";

type ScalarConfig = NonNullable<NonNullable<Parameters<typeof swagger>[0]>["scalarConfig"]>;

/** Where the UI is served; the OpenAPI document is at `${path}/json`. @default "/swagger" */
export const DEFAULT_DOCS_PATH = "/swagger";

export interface ApiDocsOptions {
  /** Shown in the document's `info.version`. */
  version: string;
  /** @default "/swagger" */
  path?: string;
}

/** Served under `${path}/assets/<name>`; nothing else is reachable there. */
const ASSETS = new Map<string, string>([
  ["scalar.js", SCALAR_BUNDLE],
  ["inter-latin.woff2", interLatin],
  ["inter-latin-ext.woff2", interLatinExt],
  ["jetbrains-mono-latin.woff2", monoLatin],
  ["jetbrains-mono-latin-ext.woff2", monoLatinExt],
]);

// Unicode ranges of the Latin and Latin Extended subsets (as fontsource splits them).
const LATIN = "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD";
const LATIN_EXT =
  "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+0304,U+0308,U+0329,U+1D00-1DBF,U+1E00-1E9F,U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF";

/** The families Scalar's theme asks for, from the embedded files. No single quotes: the CSS travels in a '…' HTML attribute. */
function fontFaces(assets: string): string {
  const face = (family: string, file: string, range: string) =>
    `@font-face{font-family:"${family}";font-style:normal;font-weight:100 900;font-display:swap;src:url(${assets}/${file}) format("woff2");unicode-range:${range}}`;
  return [
    face("Inter", "inter-latin.woff2", LATIN),
    face("Inter", "inter-latin-ext.woff2", LATIN_EXT),
    face("JetBrains Mono", "jetbrains-mono-latin.woff2", LATIN),
    face("JetBrains Mono", "jetbrains-mono-latin-ext.woff2", LATIN_EXT),
  ].join("\n");
}

/**
 * The OpenAPI document at `/swagger/json` and the Scalar UI at `/swagger`,
 * working offline: the page loads only from this server (bundle and fonts
 * under `/swagger/assets/`), with Scalar's remote fonts, telemetry, AI agent,
 * MCP and request proxy turned off.
 */
export function apiDocs({ version, path = DEFAULT_DOCS_PATH }: ApiDocsOptions) {
  const assets = `${path}/assets`;
  const specPath = `${path}/json`;
  const scalarConfig = {
    theme: "elysiajs",
    withDefaultFonts: false,
    // Twelve operations: list them all in the sidebar rather than behind collapsed tags.
    defaultOpenAllTags: true,
    customCss: fontFaces(assets),
    // Absolute: the plugin's default is relative, which from `/swagger/` points at `/swagger/swagger/json`.
    spec: { url: specPath },
    telemetry: false,
    proxyUrl: "",
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: "never",
  };
  return new Elysia({ name: "api-docs", seed: path })
    // The plugin's generated document needs fixing up to be valid OpenAPI (see publishedDocument).
    // `servers` names the origin the document was fetched from, so its code samples are complete URLs.
    .onAfterHandle({ as: "local" }, ({ route, request, response }) =>
      route === specPath ? publishedDocument(response, new URL(request.url).origin) : undefined,
    )
    .get(
      `${assets}/:file`,
      ({ params }) => {
        const file = ASSETS.get(params.file);
        if (file === undefined) throw new RouteNotFoundError();
        // Unversioned URLs: cached briefly, so an upgraded binary's UI is picked up soon.
        return new Response(Bun.file(file), { headers: { "cache-control": "public, max-age=3600" } });
      },
      { detail: { hide: true } },
    )
    .use(
      swagger({
        path,
        specPath,
        scalarCDN: `${assets}/scalar.js`,
        // Options of the embedded Scalar bundle, newer than the plugin's `ReferenceConfiguration` type.
        scalarConfig: scalarConfig as ScalarConfig,
        documentation: {
          // The schemas are JSON Schema (TypeBox): `const`, `examples`, `patternProperties` need 3.1.
          openapi: "3.1.0",
          info: {
            title: "Event Store",
            version,
            description:
              "Topics with JSON Schemas, a durable append-only log, and webhook delivery. Every error is a JSON object with `error` (a message for people) and `code` (a stable machine-readable code such as `TOPIC_NOT_FOUND`).",
          },
          tags: [
            { name: "Topics", description: "Create topics and manage their schemas" },
            { name: "Events", description: "Publish and read events" },
            { name: "Consumers", description: "Webhook consumers: registration, delivery state, resume" },
            { name: "Health", description: "Liveness" },
          ],
        },
      }),
    );
}
