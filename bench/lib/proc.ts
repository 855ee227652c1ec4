import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times (almost always 100 on Linux). */
const CLK_TCK = (() => {
  const out = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const value = Number(out.stdout.toString().trim());
  return out.exitCode === 0 && value > 0 ? value : 100;
})();

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; fields after ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the ")".
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) * 1024;
}

interface MachineCpu {
  /** user + nice + system over all cores; irq/softirq left out (mostly our own loopback traffic). */
  busy: number;
  /** Time the hypervisor ran someone else on our vCPUs. */
  steal: number;
}

function machineCpu(): MachineCpu {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).map(Number);
  // cpu user nice system idle iowait irq softirq steal …
  return { busy: (fields[1]! + fields[2]! + fields[3]!) / CLK_TCK, steal: fields[8]! / CLK_TCK };
}

/**
 * CPU seconds of all kernel threads. Here that is mostly ext4 and block I/O
 * work caused by the fsyncs under test, so it is not counted as noise.
 */
function kernelThreadsCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (entry === "2" || fields[1] === "2") total += Number(fields[11]) + Number(fields[12]);
  }
  return total / CLK_TCK;
}

/** This process and the children it has reaped (the load generators), in CPU seconds. */
function runnerCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

export interface RunCpu {
  /** The server's CPU, % of one core. */
  serverPct: number;
  /** The helper processes' CPU (see RunCpuMeterOptions), % of one core; 0 when there are none. */
  helpersPct: number;
  /**
   * Everything the machine did besides the server, this runner, its load
   * generator and kernel threads, plus hypervisor steal, % of one core:
   * other people's processes on a shared machine. High values mark a noisy row.
   */
  noisePct: number;
}

export interface RunCpuMeterOptions {
  /**
   * Processes under test that are neither the server nor the runner's reaped
   * children (the nats-servers of the cluster rows): their CPU is reported as
   * `helpersPct` and not counted as noise.
   */
  helperPids?: readonly number[];
}

const sumCpuSeconds = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/**
 * Starts accounting one measured run; call the result after the load generator has exited.
 * `serverPid` may be several processes (the store nodes of a cluster row), or none when the
 * process under test is a child that exits with the run (its CPU then counts as the runner's).
 */
export function runCpuMeter(serverPid: number | readonly number[], options: RunCpuMeterOptions = {}): () => RunCpu {
  const servers = typeof serverPid === "number" ? [serverPid] : serverPid;
  const helpers = options.helperPids ?? [];
  const read = () => ({ server: sumCpuSeconds(servers), helpers: sumCpuSeconds(helpers), runner: runnerCpuSeconds(), kernel: kernelThreadsCpuSeconds(), machine: machineCpu() });
  const before = read();
  const wall0 = performance.now();
  return () => {
    const after = read();
    const wallS = (performance.now() - wall0) / 1000;
    const server = after.server - before.server;
    const helperS = after.helpers - before.helpers;
    const ours = server + helperS + (after.runner - before.runner) + (after.kernel - before.kernel);
    const others = Math.max(0, after.machine.busy - before.machine.busy - ours);
    const noise = others + (after.machine.steal - before.machine.steal);
    return { serverPct: (server / wallS) * 100, helpersPct: (helperS / wallS) * 100, noisePct: (noise / wallS) * 100 };
  };
}

/** Tracks a process's CPU use over an interval, as a percentage of one core. */
export function cpuMeter(pid: number): () => number {
  const startCpu = cpuSeconds(pid);
  const startWall = performance.now();
  return () => ((cpuSeconds(pid) - startCpu) / ((performance.now() - startWall) / 1000)) * 100;
}
