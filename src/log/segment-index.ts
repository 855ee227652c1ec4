/**
 * Byte ranges of the event lines of one segment, in sequence order: entry i
 * is the event `firstSequence + i`. Ranges exclude the newline, and commit
 * marker lines are never indexed, so readers slice events straight from the
 * file without parsing them.
 */
export class SegmentIndex {
  private starts: Uint32Array;
  private ends: Uint32Array;
  private length = 0;

  constructor(capacity = 1024) {
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
  }

  get count(): number {
    return this.length;
  }

  push(start: number, end: number): void {
    if (this.length === this.starts.length) this.grow();
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.length++;
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.ends[i]!;
  }

  /** Forgets entries from `count` on (used when an append is rolled back). */
  truncate(count: number): void {
    this.length = Math.min(this.length, count);
  }

  private grow(): void {
    const starts = new Uint32Array(this.starts.length * 2);
    const ends = new Uint32Array(this.ends.length * 2);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }
}
