/**
 * Which node delivers a consumer. In cluster mode every node knows every
 * consumer, but exactly one at a time — the holder of its lease — runs its
 * deliveries; the file and memory backends have one node, which holds all.
 */

/** What a node is told as it comes to hold, or stops holding, a consumer's lease. */
export interface LeaseHandlers {
  /** This node now holds the lease: it must start delivering from the durable cursor. */
  gained(consumerId: string): void;
  /** Another node holds it now, or this node could not renew it in time: stop delivering at once. */
  lost(consumerId: string): void;
}

export interface DispatchLeases {
  /** This node's id (NODE_ID), as `GET /consumers/{id}` and `GET /health` show it. */
  readonly nodeId: string;
  /** Starts taking free leases of the consumers `consumerIds()` names, and renewing those held. */
  start(consumerIds: () => Iterable<string>, handlers: LeaseHandlers): void;
  /** Tries to take a consumer's lease now (it was just registered here); resolves once the attempt is over. */
  claim(consumerId: string): Promise<void>;
  /** Gives up a consumer's lease if held (it was removed), so no node waits out its expiry. */
  release(consumerId: string): Promise<void>;
  /** The node that delivers a consumer, as last seen; null while no node holds its lease. */
  holder(consumerId: string): string | null;
  /** Stops renewing and releases every lease held, so other nodes take over without waiting. */
  stop(): Promise<void>;
}

/** How soon (ms) a dead node's consumers are taken over in cluster mode (CLUSTER_LEASE_MS). @default 10 000 */
export const DEFAULT_CLUSTER_LEASE_MS = 10_000;
