import type { StreamInfo } from "@nats-io/jetstream";
import type { ObjectInfo, ObjectStore } from "@nats-io/obj";
import type { BatchIndex } from "./batch-index.ts";
import { captureSnapshot, decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT } from "./index-snapshot.ts";

/** A node writes a checkpoint once it has applied this many messages past the last one it knows of. @default 10 000 */
export const DEFAULT_CHECKPOINT_EVERY = 10_000;
/** And not more often than this. @default 30 000 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 30_000;
/** The one object of the bucket: the latest snapshot. */
const OBJECT_NAME = "batch-index";

export interface IndexCheckpointsOptions {
  /** The `<prefix>_index` object store. */
  store: ObjectStore;
  /** @default DEFAULT_CHECKPOINT_EVERY */
  every?: number;
  /** @default DEFAULT_CHECKPOINT_INTERVAL_MS */
  intervalMs?: number;
  /** Snapshots ignored, writes that failed. */
  report: (message: string) => void;
}

/**
 * Checkpoints of a node's BatchIndex in a JetStream object store, so
 * start-up decodes one snapshot and replays only the headers after its
 * sequence S instead of the whole stream. An object, not a KV value: KV
 * values are capped by max_payload (1 MB by default), a snapshot grows
 * with the history and the object store chunks it.
 *
 * Any node writes one, in the background, once it has applied `every`
 * messages past the last checkpoint it knows of and at most once per
 * `intervalMs`. Before writing it reads the stored object's metadata and
 * skips when that snapshot (of the same stream) is as new or newer, so a
 * snapshot is never replaced by an older one except in a race of two
 * writers within one round trip, which leaves the older but still
 * self-consistent snapshot (a reopen replays a little more). Each object
 * put publishes its chunks under a fresh id and then its metadata, so a
 * reader sees one whole snapshot or the previous one, and the object's
 * digest catches anything torn.
 */
export class IndexCheckpoints {
  private readonly every: number;
  private readonly intervalMs: number;
  /** The newest checkpoint this node has loaded, written or seen stored. */
  private knownSeq = 0;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private writing: Promise<void> | null = null;
  /** The revision of a stored snapshot that load ignored. */
  private distrusted = -1;
  private stopped = false;

  constructor(private readonly options: IndexCheckpointsOptions) {
    this.every = options.every ?? DEFAULT_CHECKPOINT_EVERY;
    this.intervalMs = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  }

  /** The stored snapshot as an index when it is usable for `stream`; null (reported) when missing or not. */
  async load(stream: StreamInfo): Promise<BatchIndex | null> {
    const name = stream.config.name;
    let object: { bytes: Uint8Array; revision: number } | null;
    try {
      object = await this.read();
    } catch (error) {
      this.options.report(`index checkpoint of ${name} unreadable (${describe(error)}): replaying the stream from the start`);
      return null;
    }
    if (object === null) return null;
    const ignore = (why: string): null => {
      // Its metadata may claim a sequence it does not hold: this node may replace that object whatever it claims.
      this.distrusted = object.revision;
      this.options.report(`index checkpoint of ${name} ignored (${why}): replaying the stream from the start`);
      return null;
    };
    let decoded: ReturnType<typeof decodeSnapshot>;
    try {
      decoded = decodeSnapshot(object.bytes);
    } catch (error) {
      return ignore(describe(error));
    }
    const { index, streamCreated } = decoded;
    if (streamCreated !== stream.created || index.lastStreamSeq > stream.state.last_seq) {
      return ignore(`it is of a stream created ${streamCreated} up to sequence ${index.lastStreamSeq}; the stream was created ${stream.created} and ends at ${stream.state.last_seq}`);
    }
    this.knownSeq = index.lastStreamSeq;
    return index;
  }

  /** The stored object and its revision; the object store checks its digest. */
  private async read(): Promise<{ bytes: Uint8Array; revision: number } | null> {
    const result = await this.options.store.get(OBJECT_NAME);
    if (result === null) return null;
    const bytes = new Uint8Array(await new Response(result.data).arrayBuffer());
    const error = await result.error;
    if (error) throw error;
    return { bytes, revision: result.info.revision };
  }

  /**
   * Told after each message applied (and once at the end of the replay at
   * open). Cheap unless a checkpoint is due; then the capture is
   * synchronous (so it is the state at exactly one sequence) and the rest
   * runs in the background. `pruneKeys` drops the keys already past the TTL.
   */
  applied(index: BatchIndex, streamCreated: string, pruneKeys: () => void): void {
    if (this.stopped || this.writing !== null || index.lastStreamSeq - this.knownSeq < this.every) return;
    const now = performance.now();
    if (now - this.lastWriteAt < this.intervalMs) return;
    this.lastWriteAt = now;
    pruneKeys();
    const capture = captureSnapshot(index, streamCreated);
    this.writing = this.write(capture)
      .catch((error) => this.options.report(`index checkpoint at sequence ${capture.seq} not written (${describe(error)}); the next one will be tried later`))
      .finally(() => {
        this.writing = null;
      });
  }

  /** Waits for the checkpoint in flight, if any; no new one starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.writing;
  }

  private async write(capture: ReturnType<typeof captureSnapshot>): Promise<void> {
    // Encoding runs after this await, off the message that triggered it; the captured entries never change.
    const info = await this.options.store.info(OBJECT_NAME);
    const stored = info === null || info.revision === this.distrusted ? 0 : storedSeq(info, capture.streamCreated);
    if (stored >= capture.seq) {
      this.knownSeq = Math.max(this.knownSeq, Number.isFinite(stored) ? stored : capture.seq);
      return;
    }
    const bytes = await encodeSnapshot(capture);
    await this.options.store.putBlob(
      { name: OBJECT_NAME, metadata: { format: String(SNAPSHOT_FORMAT), seq: String(capture.seq), stream_created: capture.streamCreated } },
      bytes,
    );
    this.knownSeq = Math.max(this.knownSeq, capture.seq);
  }
}

/** The sequence of the stored snapshot when it is of this format and stream, else 0 (it may be replaced). */
function storedSeq(info: ObjectInfo, streamCreated: string): number {
  if ((info as { deleted?: boolean }).deleted) return 0;
  const metadata = info.metadata ?? {};
  // A newer node's format is left alone: overwriting it would make that node replay everything.
  if (Number(metadata.format) > SNAPSHOT_FORMAT) return Number.POSITIVE_INFINITY;
  if (metadata.format !== String(SNAPSHOT_FORMAT) || metadata.stream_created !== streamCreated) return 0;
  return Number(metadata.seq) || 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
