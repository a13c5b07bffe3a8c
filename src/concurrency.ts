/**
 * Run `work` over `items` with at most `limit` at once. When one call throws, no lane starts
 * another item, and the error is thrown once every call already running has ended (so nothing
 * it started outlives it).
 */
export async function bounded<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure.error;
}

/** At most `limit` holders at once, served in arrival order (for work that holds memory, isolate-wide). */
export class Gate {
  private held = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  /** Run `work` once a place is free; the place is given back when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the place passes straight to the next in line
      else this.held--;
    }
  }
}
