import { type KV, KvWatchInclude } from "@nats-io/kv";
import type { DispatchLeases, LeaseHandlers } from "../../store/dispatch-leases.ts";
import { fromKvKey, isRevisionConflict, kvKey } from "./nats-kv-stores.ts";

/** What a lease entry holds: the node's id for people, the process's token for the holder to recognise its own. */
interface LeaseValue {
  node: string;
  token: string;
}

interface HeldLease {
  revision: number;
  /** performance.now() when the last renewal that succeeded was sent. */
  renewedAt: number;
}

export interface NatsLeasesOptions {
  /** The lease bucket; its TTL (max age) is how long an entry outlives its last renewal. */
  kv: KV;
  nodeId: string;
  /** The bucket's TTL in ms, as the server has it. */
  ttlMs: number;
  report: (message: string) => void;
  /** Runs before this node starts delivering a consumer it just took (the store re-reads its cursors). */
  beforeGain?: (consumerId: string) => Promise<void>;
}

/**
 * Consumer leases in a KV bucket whose entries expire `ttl` after they were
 * last written (the stream's max age, so the server's clock decides, not
 * the nodes'). A node takes a free lease with a create (fails if the key
 * exists), renews it with a compare-and-set on its revision every ttl/3,
 * and looks at the leases it does not hold every ttl/7.5. A holder that
 * could not renew for 0.8 × ttl stops delivering before the entry can
 * expire, so two nodes never deliver one consumer at once except for a
 * delivery in flight at that moment. With the bucket's TTL at 0.75 ×
 * CLUSTER_LEASE_MS, a dead holder's consumers are taken over within
 * 0.85 × CLUSTER_LEASE_MS.
 */
export class NatsLeases implements DispatchLeases {
  readonly nodeId: string;
  private readonly kv: KV;
  private readonly ttlMs: number;
  private readonly report: (message: string) => void;
  private readonly beforeGain: (consumerId: string) => Promise<void>;
  private readonly token = crypto.randomUUID();
  private readonly held = new Map<string, HeldLease>();
  /** Holders of the leases this node does not hold, as last looked at. */
  private readonly seen = new Map<string, string | null>();
  /**
   * Consumers seen by an earlier look. One first seen later was just registered, by this
   * node or another: its registering node claims it at once, so this look leaves it alone.
   */
  private looked = new Set<string>();
  /** Consumers with a create or renewal in flight, so a claim and a tick never race on one key. */
  private readonly busy = new Set<string>();
  private handlers: LeaseHandlers | null = null;
  private consumerIds: () => Iterable<string> = () => [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private unreachable = false;
  private watcher: { stop(): void } | null = null;

  constructor(options: NatsLeasesOptions) {
    this.kv = options.kv;
    this.nodeId = options.nodeId;
    this.ttlMs = options.ttlMs;
    this.report = options.report;
    this.beforeGain = options.beforeGain ?? (async () => {});
  }

  start(consumerIds: () => Iterable<string>, handlers: LeaseHandlers): void {
    this.consumerIds = consumerIds;
    this.handlers = handlers;
    // Those there at start-up are not new: the first look takes every free one.
    this.looked = new Set(consumerIds());
    this.schedule(0);
    void this.watchReleases();
  }

  async claim(consumerId: string): Promise<void> {
    if (this.handlers === null || this.held.has(consumerId)) return;
    await this.take(consumerId);
  }

  async release(consumerId: string): Promise<void> {
    const lease = this.held.get(consumerId);
    this.seen.delete(consumerId);
    if (lease === undefined) return;
    this.held.delete(consumerId);
    // Only our own revision: a lease already taken over stays with its new holder. A failure leaves it to expire.
    await this.kv.delete(kvKey(consumerId), { previousSeq: lease.revision }).catch(() => {});
  }

  holder(consumerId: string): string | null {
    return this.held.has(consumerId) ? this.nodeId : (this.seen.get(consumerId) ?? null);
  }

  async stop(): Promise<void> {
    this.handlers = null;
    this.watcher?.stop();
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.held.keys()].map((id) => this.release(id)));
  }

  /** A lease deleted by its holder (released) is free now: take it without waiting for the next look. */
  private async watchReleases(): Promise<void> {
    try {
      const watcher = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
      if (this.handlers === null) return watcher.stop();
      this.watcher = watcher;
      for await (const entry of watcher) {
        if (this.handlers === null) break;
        const id = fromKvKey(entry.key);
        if (entry.operation === "PUT") {
          if (!this.held.has(id)) this.seen.set(id, entry.json<LeaseValue>().node);
        } else if (!this.held.has(id) && new Set(this.consumerIds()).has(id)) {
          void this.take(id);
        }
      }
    } catch {
      // The watch ended with the connection; the periodic looks still find free leases.
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        if (this.handlers !== null) this.schedule(this.ttlMs / 7.5);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    const work: Promise<void>[] = [];
    for (const [id, lease] of this.held) {
      if (now - lease.renewedAt > this.ttlMs * 0.8) this.lose(id, null, "could not renew it in time");
      else if (now - lease.renewedAt >= this.ttlMs / 3) work.push(this.renew(id, lease));
    }
    const ids = new Set(this.consumerIds());
    for (const id of ids) {
      const justRegistered = !this.looked.has(id);
      if (!justRegistered && !this.held.has(id)) work.push(this.take(id));
    }
    this.looked = ids;
    await Promise.all(work);
  }

  /** Creates the lease if no entry holds it; else notes who does. */
  private async take(id: string): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy.add(id);
    try {
      const entry = await this.kv.get(kvKey(id));
      if (entry !== null && entry.operation === "PUT") {
        const value = entry.json<LeaseValue>();
        if (value.token !== this.token) {
          this.seen.set(id, value.node);
          return;
        }
        // Ours, from a renewal whose answer was lost: keep it.
        this.gain(id, entry.revision, performance.now());
        return;
      }
      const sentAt = performance.now();
      const revision = await this.kv.create(kvKey(id), this.value());
      // Delivering from a cursor a little old only re-sends; not delivering at all would be worse.
      await this.beforeGain(id).catch(() => {});
      this.gain(id, revision, sentAt);
    } catch (error) {
      if (isRevisionConflict(error)) return; // another node created it first; the next tick shows who
      this.note(error);
    } finally {
      this.busy.delete(id);
    }
  }

  private async renew(id: string, lease: HeldLease): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy.add(id);
    try {
      const sentAt = performance.now();
      const revision = await this.kv.update(kvKey(id), this.value(), lease.revision);
      if (this.held.get(id) === lease) this.held.set(id, { revision, renewedAt: sentAt });
      this.reachable();
    } catch (error) {
      if (!isRevisionConflict(error)) return this.note(error);
      const entry = await this.kv.get(kvKey(id)).catch(() => null);
      const value = entry?.operation === "PUT" ? entry.json<LeaseValue>() : null;
      if (value?.token === this.token) this.held.set(id, { revision: entry!.revision, renewedAt: lease.renewedAt });
      else this.lose(id, value?.node ?? null, "it expired before it was renewed");
    } finally {
      this.busy.delete(id);
    }
  }

  private gain(id: string, revision: number, renewedAt: number): void {
    this.reachable();
    if (this.handlers === null) {
      void this.kv.delete(kvKey(id), { previousSeq: revision }).catch(() => {});
      return;
    }
    this.seen.delete(id);
    this.held.set(id, { revision, renewedAt });
    this.handlers.gained(id);
  }

  private lose(id: string, holder: string | null, why: string): void {
    if (!this.held.delete(id)) return;
    this.seen.set(id, holder);
    this.report(`consumer ${id}: this node (${this.nodeId}) stopped delivering it: ${why}`);
    this.handlers?.lost(id);
  }

  private value(): string {
    return JSON.stringify({ node: this.nodeId, token: this.token } satisfies LeaseValue);
  }

  /** Reported once per outage, not once per lease and tick. */
  private note(error: unknown): void {
    if (this.unreachable) return;
    this.unreachable = true;
    this.report(`consumer leases: JetStream did not answer (${(error as Error)?.message ?? String(error)}); retrying`);
  }

  private reachable(): void {
    this.unreachable = false;
  }
}
