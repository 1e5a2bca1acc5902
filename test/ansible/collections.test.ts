// ansible/requirements.yml pins every collection the tree uses: each FQCN module, lookup or filter
// named in ansible/ belongs to a collection listed there, and the versions listed are the ones
// installed here (Debian's ansible package), since Galaxy is not reachable to prove them otherwise.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { lacksProgram } from '../helpers/requirements.js';

const ANSIBLE = join(PACKAGE_ROOT, 'ansible');
const GALAXY = '/usr/bin/ansible-galaxy';
// Shipped with ansible-core itself, not collections to install.
const CORE = new Set(['ansible.builtin', 'ansible.legacy']);

const required = (parse(readFileSync(join(ANSIBLE, 'requirements.yml'), 'utf8')) as { collections: Array<{ name: string; version: string }> }).collections;

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else if (/\.(ya?ml|j2)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Collections named by module keys of tasks, and by lookup()/query() and filters in templates. */
function collectionsUsed(): Map<string, string> {
  const used = new Map<string, string>();
  const note = (fqcn: string, where: string) => {
    const collection = fqcn.split('.').slice(0, 2).join('.');
    if (!CORE.has(collection) && !used.has(collection)) used.set(collection, `${fqcn} in ${where}`);
  };
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) for (const n of node) walk(n, where);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(k)) note(k, where);
        walk(v, where);
      }
    }
  };
  for (const f of files(ANSIBLE)) {
    const text = readFileSync(f, 'utf8');
    const where = f.slice(ANSIBLE.length + 1);
    if (!f.endsWith('.j2') && !f.endsWith('requirements.yml')) walk(parse(text), where);
    for (const m of text.matchAll(/\b(?:lookup|query)\(\s*['"]([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)['"]/g)) note(m[1]!, where);
    for (const m of text.matchAll(/\|\s*([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\b/g)) note(m[1]!, where);
  }
  return used;
}

describe('ansible/requirements.yml', () => {
  it('lists every collection the playbooks and roles use, each once with an exact version', () => {
    const names = required.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of required) expect(c.version, c.name).toMatch(/^\d+\.\d+\.\d+$/);
    const used = collectionsUsed();
    expect(used.size).toBeGreaterThan(0);
    for (const [collection, example] of used) expect(names, `${example} needs ${collection} in ansible/requirements.yml`).toContain(collection);
  });

  it.skipIf(lacksProgram(GALAXY))('pins the versions installed on this machine', () => {
    const list = JSON.parse(execFileSync(GALAXY, ['collection', 'list', '--format', 'json'], { encoding: 'utf8', cwd: ANSIBLE })) as Record<string, Record<string, { version: string }>>;
    const installed = new Map<string, string>();
    // The first path that has a collection is the one Ansible loads it from.
    for (const collections of Object.values(list)) for (const [name, c] of Object.entries(collections)) if (!installed.has(name)) installed.set(name, c.version);
    for (const c of required) expect(`${c.name} ${installed.get(c.name) ?? 'not installed'}`).toBe(`${c.name} ${c.version}`);
  });
});
