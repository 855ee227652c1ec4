import { Elysia } from "elysia";
import { RouteNotFoundError } from "../errors.ts";
import { requestPath } from "./request-path.ts";
// `file` imports are embedded by `bun build --compile`: the page works offline, like /swagger.
import adminCss from "../admin/admin.css" with { type: "file" };
import adminJs from "../admin/admin.js" with { type: "file" };
import { ADMIN_HTML } from "../admin/page-html.ts";

/** Where the admin page is served. */
export const ADMIN_PATH = "/admin";

const ASSETS = new Map<string, { path: string; type: string }>([
  ["admin.js", { path: adminJs, type: "text/javascript; charset=utf-8" }],
  ["admin.css", { path: adminCss, type: "text/css; charset=utf-8" }],
]);

/**
 * The page's own files hold no data, so they load without a token; the page
 * then asks for one and sends it with every API call. Only these paths.
 */
export function isAdminAsset(request: Request): boolean {
  if (request.method !== "GET") return false;
  const path = requestPath(request.url);
  return path === ADMIN_PATH || path === `${ADMIN_PATH}/` || (path.startsWith(`${ADMIN_PATH}/assets/`) && ASSETS.has(path.slice(ADMIN_PATH.length + 8)));
}

// The page may talk only to this server: no inline scripts, no other origin, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** `GET /admin`: topics, an event browser with live tail, consumers with resume/delete, health and key metrics. */
export function adminPage() {
  const headers = { "content-security-policy": CSP, "cache-control": "no-cache", "x-content-type-options": "nosniff" };
  const page = () => new Response(ADMIN_HTML, { headers: { ...headers, "content-type": "text/html; charset=utf-8" } });
  return new Elysia({ name: "admin-page" })
    .get(ADMIN_PATH, page, { detail: { hide: true } })
    .get(`${ADMIN_PATH}/`, page, { detail: { hide: true } })
    .get(
      `${ADMIN_PATH}/assets/:file`,
      ({ params }) => {
        const asset = ASSETS.get(params.file);
        if (asset === undefined) throw new RouteNotFoundError();
        return new Response(Bun.file(asset.path), { headers: { ...headers, "content-type": asset.type } });
      },
      { detail: { hide: true } },
    );
}
