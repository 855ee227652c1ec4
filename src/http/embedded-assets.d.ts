// `import path from "…" with { type: "file" }` yields the file's path: on disk
// when run from source, inside the executable (`/$bunfs/…`) once compiled.

declare module "*.woff2" {
  const path: string;
  export default path;
}
