import { dlopen, FFIType, read } from "bun:ffi";

/** What `tryLockExclusive` found. */
export type FlockResult = "locked" | "busy" | "unsupported";

const LOCK_EX = 2;
const LOCK_NB = 4;

interface Libc {
  flock(fd: number, operation: number): number;
  /** The calling thread's errno, read right after a failed call. */
  errno(): number;
  /** errno for "another process holds the lock". */
  wouldBlock: number;
}

let libc: Libc | null | undefined;

/**
 * `flock(2)` from the C library through bun:ffi, loaded on first use. The
 * kernel drops the lock when its holder's descriptor closes, so a lock held
 * by a process that was killed, or that is now a zombie, or that was PID 1 of
 * a previous container, is free again: nothing but a live holder can refuse.
 */
function loadLibc(): Libc | null {
  const candidates =
    process.platform === "darwin"
      ? [{ path: "libc.dylib", errno: "__error", wouldBlock: 35 }, { path: "/usr/lib/libSystem.B.dylib", errno: "__error", wouldBlock: 35 }]
      : process.platform === "linux"
        ? ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"].map((path) => ({ path, errno: "__errno_location", wouldBlock: 11 }))
        : [];
  for (const candidate of candidates) {
    try {
      const { symbols } = dlopen(candidate.path, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [candidate.errno]: { args: [], returns: FFIType.ptr },
      });
      const errnoLocation = symbols[candidate.errno] as () => number | null;
      return {
        flock: (fd, operation) => symbols.flock(fd, operation) as number,
        errno: () => {
          const at = errnoLocation();
          return at === null ? -1 : read.i32(at as never, 0);
        },
        wouldBlock: candidate.wouldBlock,
      };
    } catch {
      // Not this library's name on this system: try the next one.
    }
  }
  return null;
}

/**
 * Takes an exclusive lock on the open file `fd` without waiting. "busy": a
 * live process holds it; "unsupported": no C library with flock here (or a
 * file system without locks), and the caller must fall back.
 */
export function tryLockExclusive(fd: number): FlockResult {
  if (libc === undefined) libc = loadLibc();
  if (libc === null) return "unsupported";
  if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return "locked";
  return libc.errno() === libc.wouldBlock ? "busy" : "unsupported";
}
