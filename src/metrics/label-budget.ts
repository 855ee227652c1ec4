/** The label value that stands for everything past the budget. */
export const OTHER = "_other";

/**
 * Bounds the label values of one kind (topics, consumer×topic pairs): the
 * first `max` distinct keys keep their own value, later ones share OTHER
 * until a slot is released. A scrape therefore returns at most `max + 1`
 * series per metric, however many topics or consumers exist.
 */
export class LabelBudget {
  private readonly labelled = new Set<string>();

  constructor(readonly max: number) {}

  /** True when `key` has (or now gets) its own label value. */
  admit(key: string): boolean {
    if (this.labelled.has(key)) return true;
    if (this.labelled.size >= this.max) return false;
    this.labelled.add(key);
    return true;
  }

  /** Frees the slots of keys not in `current`; returns the keys released. */
  retain(current: ReadonlySet<string>): string[] {
    const released: string[] = [];
    for (const key of this.labelled) {
      if (current.has(key)) continue;
      this.labelled.delete(key);
      released.push(key);
    }
    return released;
  }
}
