import { fileURLToPath } from "node:url";

/**
 * Path of Scalar's browser bundle (`dist/browser/standalone.js`), found
 * beside the package's entry wherever `@scalar/api-reference` is installed
 * (this repo, or an app's `node_modules`). The package's `exports` do not
 * list the bundle, so it cannot be imported by specifier; and a relative
 * path into `node_modules` breaks once this package is itself installed.
 *
 * `build.ts` replaces this module in the compiled binary with a `file`
 * import of the same path, which embeds the bundle.
 */
export const SCALAR_BUNDLE: string = fileURLToPath(new URL("browser/standalone.js", import.meta.resolve("@scalar/api-reference")));
