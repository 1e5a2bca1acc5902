// README's generated parts: the table of services (which provider can deploy which catalog type)
// and the table of configuration keys. Both come from the code that acts on them, so README cannot
// promise what does not run. `npm run docs` rewrites them in place; test/readme.test.ts fails when
// README is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinCatalogFiles, parseServiceType } from './catalog.js';
import { configKeys } from './config/schema.js';
import { ansibleServiceTypes, localServiceTypes } from './deploy/capabilities.js';
import { PACKAGE_ROOT } from './paths.js';

export const README = join(PACKAGE_ROOT, 'README.md');

const YES = 'yes';
const NO = '—';

/** One row per built-in catalog type: its versions, and whether each provider can deploy it. */
export function servicesTable(ansibleDir = join(PACKAGE_ROOT, 'ansible')): string {
  const local = new Set(localServiceTypes());
  const ansible = new Set(ansibleServiceTypes(ansibleDir));
  const types = builtinCatalogFiles()
    .map((f) => parseServiceType(readFileSync(f, 'utf8'), f))
    .map((t) => ({ type: t.Type ?? '', versions: (t.Versions ?? []).map((v) => v.Version).join(', ') }))
    .sort((a, b) => a.type.localeCompare(b.type));
  const rows = types.map(({ type, versions }) => {
    const cells = [local.has(type) ? YES : NO, ansible.has(type) ? YES : NO];
    return `| \`${type}\` | ${versions} | ${cells.join(' | ')} |`;
  });
  // nspawn and OpenStack deploy with the same Ansible roles, so one column says for both.
  return ['| service type | versions in the catalog | local | nspawn / OpenStack (Ansible roles) |', '|---|---|---|---|', ...rows].join('\n');
}

const code = (v: unknown) => (v === undefined ? '' : `\`${JSON.stringify(v)}\``);

/** The configuration keys, with type, default and meaning; keys whose feature is missing say so. */
export function configTable(): string {
  const rows = configKeys().map((k) => {
    const meaning = k.notYet ? `**Not supported yet**: refused at start-up unless empty or ${code(k.default ?? '')}; ${k.notYet}. ${k.description}` : k.description;
    return `| \`${k.key}\` | ${k.type.replaceAll('|', '\\|')} | ${code(k.default)} | ${meaning.replaceAll('|', '\\|')} |`;
  });
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const BLOCKS: Record<string, () => string> = { services: servicesTable, config: configTable };

/** `text` with every `<!-- generated:NAME -->…<!-- end:NAME -->` block filled from the code. */
export function renderReadme(text: string): string {
  let out = text;
  for (const [name, make] of Object.entries(BLOCKS)) {
    const begin = `<!-- generated:${name} (npm run docs) -->`;
    const end = `<!-- end:${name} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`README.md has no ${begin} … ${end} block`);
    out = `${out.slice(0, i + begin.length)}\n${make()}\n${out.slice(j)}`;
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const before = readFileSync(README, 'utf8');
  const after = renderReadme(before);
  if (after !== before) writeFileSync(README, after);
  process.stdout.write(after === before ? 'README.md is up to date\n' : 'README.md updated\n');
}
