import packageJson from "../package.json" with { type: "json" };

declare const EVENT_STORE_VERSION: string | undefined;

/** Set by `build.ts` through `define`; from package.json when run from source. */
export const VERSION: string =
  typeof EVENT_STORE_VERSION === "string" ? EVENT_STORE_VERSION : packageJson.version;
