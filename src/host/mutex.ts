// One at a time within this process: changes that must not interleave (a bridge set up while the
// last cluster's delete tears it down; two deploys writing one known_hosts).

export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
