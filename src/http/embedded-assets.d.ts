// `import path from "…" with { type: "file" }` yields the file's path: on disk
// when run from source, inside the executable (`/$bunfs/…`) once compiled.

declare module "*.woff2" {
  const path: string;
  export default path;
}

/** The admin page's script and styles, embedded by `with { type: "file" }` (a path into the binary). */
declare module "*/admin/admin.js" {
  const path: string;
  export default path;
}
declare module "*/admin/admin.css" {
  const path: string;
  export default path;
}
