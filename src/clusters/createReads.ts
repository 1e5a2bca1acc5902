// The reads a create starts with, coalesced over the creates of the same moment (store/readBatcher.ts):
// the project they name, and the preflight (image, flavors, whether the name is taken), one
// statement for all of them instead of two round trips per create. Results are as fresh as a read
// of each create's own: nothing is kept once answered.
import type { Store } from '../store/store.js';
import type { StoredProject } from '../store/repos/projects.js';
import { ReadBatcher } from '../store/readBatcher.js';

export interface PreflightAsk {
  projectId: string;
  name: string;
  images: string[];
  flavors: string[];
}

export interface PreflightAnswer {
  missing: Set<string>;
  images: Map<string, { CloudImageID: string; AnsibleUser: string }>;
  exists: boolean;
}

/** Groups `keys` by `by`, answers each group with one call, and returns the answers in the keys' order. */
async function grouped<K, V>(keys: K[], by: (k: K) => string, answer: (group: K[]) => Promise<(k: K) => V>): Promise<V[]> {
  const groups = new Map<string, K[]>();
  for (const k of keys) {
    const g = by(k);
    const list = groups.get(g);
    if (list) list.push(k);
    else groups.set(g, [k]);
  }
  const answers = new Map<string, (k: K) => V>();
  await Promise.all([...groups].map(async ([g, list]) => answers.set(g, await answer(list))));
  return keys.map((k) => answers.get(by(k))!(k));
}

export class CreateReads {
  private readonly projects: ReadBatcher<string, StoredProject | undefined>;
  private readonly preflights: ReadBatcher<PreflightAsk, PreflightAnswer>;

  constructor(store: Store) {
    this.projects = new ReadBatcher((refs) =>
      grouped(refs, (r) => r, async ([ref]) => {
        const p = await store.projects.find(ref!);
        return () => p;
      }),
    );
    this.preflights = new ReadBatcher((asks) =>
      grouped(asks, (a) => JSON.stringify([a.projectId, a.images, a.flavors]), async (group) => {
        const { projectId, images, flavors } = group[0]!;
        const r = await store.clusters.preflightMany(projectId, group.map((a) => a.name), { images, flavors });
        return (a) => ({ missing: r.missing, images: r.images, exists: r.taken.has(a.name) });
      }),
    );
  }

  project(ref: string): Promise<StoredProject | undefined> {
    return this.projects.read(ref);
  }

  preflight(ask: PreflightAsk): Promise<PreflightAnswer> {
    return this.preflights.read(ask);
  }
}

const reads = new WeakMap<Store, CreateReads>();

/** The store's coalesced create reads (one per store object, so per API process). */
export function createReadsOf(store: Store): CreateReads {
  let r = reads.get(store);
  if (!r) reads.set(store, (r = new CreateReads(store)));
  return r;
}
