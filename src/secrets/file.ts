// Secrets in one JSON file in the data directory ({ "<path>": { "<key>": "<value>" } }), mode 0600.
// Writes go to a temporary file created 0600 and renamed over the old one, so a crash never leaves
// a half-written file and the secrets are never readable by others, even for a moment.
import { promises as fs, constants } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type SecretStore, type SecretData, SecretError, checkPath, keyOf } from './types.js';
import { withFileLock } from '../host/fileLock.js';

export class FileSecretStore implements SecretStore {
  readonly kind = 'file';
  // Writers in this process queue up, so two puts never lose each other's change.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  private async load(): Promise<Record<string, SecretData>> {
    let text: string;
    try {
      const st = await fs.stat(this.file);
      if ((st.mode & 0o077) !== 0) {
        throw new SecretError(`secrets file ${this.file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`);
      }
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const v: unknown = JSON.parse(text);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, SecretData>;
    } catch {
      // Never quote the content: it is secrets.
      throw new SecretError(`secrets file ${this.file} is not a JSON object of {"path": {"key": "value"}}`);
    }
  }

  private async save(all: Record<string, SecretData>): Promise<void> {
    await fs.mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = join(dirname(this.file), `.${basename(this.file)}.${randomBytes(6).toString('hex')}.tmp`);
    const h = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await h.writeFile(JSON.stringify(all, null, 2));
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, this.file);
  }

  private write(change: (all: Record<string, SecretData>) => void): Promise<void> {
    // The lock file: the API and workers (one process or several on this host, each with its own
    // instance) read-modify-write the same file, and one must not drop another's change.
    const next = this.chain.then(async () => {
      await fs.mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await withFileLock(`${this.file}.lock`, AbortSignal.timeout(60_000), 30_000, async () => {
        const all = await this.load();
        change(all);
        await this.save(all);
      });
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async get(path: string): Promise<SecretData | undefined> {
    const p = checkPath(path);
    await this.chain;
    const v = (await this.load())[p];
    if (v === undefined || v === null || typeof v !== 'object') return undefined;
    return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as SecretData;
  }

  getKey(path: string, key: string): Promise<string> {
    return keyOf(this, path, key);
  }

  put(path: string, values: SecretData): Promise<void> {
    const p = checkPath(path);
    return this.write((all) => {
      all[p] = { ...values };
    });
  }

  delete(path: string): Promise<void> {
    const p = checkPath(path);
    return this.write((all) => {
      delete all[p];
    });
  }
}
