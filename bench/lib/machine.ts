import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  bun: string;
  /** Commit of the code under test, with "+dirty" when the work tree differs from it. */
  commit: string;
  date: string;
  startedAt: string;
  /** 1-minute load average when the run started: above ~0.5 someone else is using the machine. */
  loadAverage: number;
}

export function machineInfo(repoDir: string): MachineInfo {
  const cpuinfo = safeRead("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const now = new Date();
  return {
    nproc: availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    bun: Bun.version,
    commit: gitCommit(repoDir),
    date: now.toISOString().slice(0, 10),
    startedAt: now.toISOString(),
    loadAverage: loadavg()[0]!,
  };
}

function gitCommit(repoDir: string): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repoDir });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", "src"], { cwd: repoDir });
  return head.stdout.toString().trim() + (dirty.stdout.toString().trim() === "" ? "" : "+dirty(src)");
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
