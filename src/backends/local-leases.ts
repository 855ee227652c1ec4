import type { DispatchLeases, LeaseHandlers } from "../store/dispatch-leases.ts";

/** One node (file and memory backends): it holds every consumer's lease from the start. */
export class LocalLeases implements DispatchLeases {
  private readonly held = new Set<string>();
  private handlers: LeaseHandlers | null = null;

  constructor(readonly nodeId: string) {}

  start(consumerIds: () => Iterable<string>, handlers: LeaseHandlers): void {
    this.handlers = handlers;
    for (const id of consumerIds()) this.take(id);
  }

  async claim(consumerId: string): Promise<void> {
    this.take(consumerId);
  }

  private take(consumerId: string): void {
    if (this.handlers === null || this.held.has(consumerId)) return;
    this.held.add(consumerId);
    this.handlers.gained(consumerId);
  }

  async release(consumerId: string): Promise<void> {
    this.held.delete(consumerId);
  }

  holder(consumerId: string): string | null {
    return this.held.has(consumerId) ? this.nodeId : null;
  }

  async stop(): Promise<void> {
    this.handlers = null;
    this.held.clear();
  }
}
