import { UsageError } from "./usage-error.ts";
import type { CliIO } from "./context.ts";

/** A file's bytes as a stream, `-` for standard input. @throws UsageError when the file cannot be read */
export async function openInput(path: string, io: CliIO): Promise<{ stream: ReadableStream<Uint8Array>; size: number | null }> {
  if (path === "-") return { stream: io.stdin(), size: null };
  const file = Bun.file(path);
  if (!(await file.exists())) throw new UsageError(`cannot read '${path}': no such file`);
  return { stream: file.stream(), size: file.size };
}

/** The whole input parsed as JSON. */
export async function readJson(path: string, io: CliIO, what: string): Promise<unknown> {
  const { stream } = await openInput(path, io);
  const text = await new Response(stream).text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} in '${path}' is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses a JSON argument given on the command line. */
export function parseJsonArgument(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}
