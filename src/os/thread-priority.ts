import { dlopen, FFIType } from "bun:ffi";

/** The weakest claim on a CPU a thread can make (nice 19). */
const BACKGROUND_NICE = 19;
const PRIO_PROCESS = 0;

/**
 * Gives the calling thread the lowest CPU priority, so that on a busy
 * machine its work waits for the threads answering requests instead of
 * taking turns with them. Linux only, where nice is per thread
 * (setpriority(2) on the thread's id); elsewhere, or when the C library
 * cannot be loaded, it does nothing and says so.
 */
export function runThisThreadInBackground(): boolean {
  if (process.platform !== "linux") return false;
  for (const path of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
    try {
      const { symbols, close } = dlopen(path, {
        gettid: { args: [], returns: FFIType.i32 },
        setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
      });
      const done = symbols.setpriority(PRIO_PROCESS, symbols.gettid(), BACKGROUND_NICE) === 0;
      close();
      return done;
    } catch {
      // Not this library's name on this system: try the next one.
    }
  }
  return false;
}
