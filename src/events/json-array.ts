const encoder = new TextEncoder();

/**
 * `<open>line,line,…<close>` in one buffer: stored event lines are already the
 * public JSON, so responses and webhook bodies are assembled from them
 * without parsing or re-serializing.
 */
export function joinJsonLines(open: string, lines: readonly Uint8Array[], close: string): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(open);
  const tail = encoder.encode(close);
  let size = head.length + tail.length + Math.max(0, lines.length - 1);
  for (const line of lines) size += line.length;
  const out = new Uint8Array(size);
  out.set(head);
  let offset = head.length;
  lines.forEach((line, i) => {
    if (i > 0) out[offset++] = 0x2c;
    out.set(line, offset);
    offset += line.length;
  });
  out.set(tail, offset);
  return out;
}
