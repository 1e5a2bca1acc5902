// README's generated tables must match the code (npm run docs rewrites them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, configTable, renderReadme, servicesTable } from '../src/readme.js';
import { LOCAL_SERVICE_MODULES } from '../src/deploy/local/deployer.js';

describe('README', () => {
  it('is up to date with the code (run `npm run docs` when this fails)', () => {
    const text = readFileSync(README, 'utf8');
    expect(renderReadme(text)).toBe(text);
  });

  it('marks each service by what the deployers can really do', () => {
    const table = servicesTable();
    // A type of the local deployer's modules is "yes" for local; a type with neither a module nor a role is "—" everywhere.
    for (const m of LOCAL_SERVICE_MODULES) expect(table).toMatch(new RegExp(`^\\| \`${m.type}\` \\| [^|]* \\| yes \\|`, 'm'));
    expect(table).toMatch(/^\| `kubernetes` \| [^|]* \| — \| — \|$/m);
    expect(table).toMatch(/^\| `slurm` \| [^|]* \| — \| yes \|$/m);
    expect(table.split('\n')[0]).toBe('| service type | versions in the catalog | local | nspawn / OpenStack (Ansible roles) |');
  });

  it('names the keys that are not supported yet', () => {
    expect(configTable()).toMatch(/^\| `docker_insecure_registry` \| boolean \| `false` \| \*\*Not supported yet\*\*/m);
    expect(configTable()).toMatch(/^\| `use_package_mirror` \| boolean \| `false` \| Install Debian packages/m);
    expect(configTable()).toMatch(/^\| `storage` \| sqlite \\\| mysql \\\| postgres \| `"sqlite"` \| Database engine/m);
  });
});
