import { afterEach } from "bun:test";
import { join } from "node:path";
import { openFileBackend } from "../src/backends/file/file-backend.ts";
import { storeContract } from "./store-contract.ts";
import { tempDir } from "./utils.ts";

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir[Symbol.dispose]();
});

let current = "";
const openAt = (root: string, clock?: () => number) =>
  openFileBackend({ dataDir: join(root, "data"), configDir: join(root, "config"), report: () => {}, ...(clock ? { clock } : {}) });

// One writer per directory (the lock refuses a second), so no `secondWriter`.
storeContract("file", {
  open(clock) {
    const dir = tempDir();
    dirs.push(dir);
    current = dir.path;
    return openAt(current, clock);
  },
  reopen: (clock) => openAt(current, clock),
});
