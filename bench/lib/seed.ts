import { join } from "node:path";

/** Runs bench/seed.ts as its own process (the server must not be running on `dataDir`). */
export async function seedStore(dataDir: string, count: number): Promise<{ ms: number }> {
  const child = Bun.spawn([process.execPath, "run", join(import.meta.dir, "..", "seed.ts"), dataDir, String(count)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`seeding ${count} events failed (exit ${code}): ${stderr}`);
  const result = JSON.parse(stdout.trim().split("\n").pop()!) as { ms: number; head: number };
  if (result.head < count) throw new Error(`seeding stopped at ${result.head} of ${count} events`);
  return { ms: result.ms };
}
