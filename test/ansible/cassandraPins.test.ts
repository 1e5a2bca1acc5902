// The cassandra role's pins (written by scripts/cassandra-artifacts/lock.py) and what the deployer
// makes of them: the artifact list the nspawn cache fetches, and the refusal of an unpinned version.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { cassandraArtifacts, cassandraVersionProblem, readCassandraPins } from '../../src/deploy/ansible/cassandraArtifacts.js';
import { AnsibleDeployer } from '../../src/deploy/ansible/deployer.js';

const pins = readCassandraPins(join(PACKAGE_ROOT, 'ansible'));

describe('cassandra pins', () => {
  it("pin the catalog's default version with cassandra-all, jamm and a SHA-1 per jar, and the official tarball's .sha512 beside it", () => {
    const v = pins.cassandra['5.0.6']!;
    expect(v.jars.map((j) => j.path)).toContain('org/apache/cassandra/cassandra-all/5.0.6/cassandra-all-5.0.6.jar');
    expect(v.jars.some((j) => /\/jamm-[\d.]+\.jar$/.test(j.path))).toBe(true);
    for (const j of [...v.jars, ...pins.connector.jars]) expect(j.sha1, j.path).toMatch(/^[0-9a-f]{40}$/);
    // Native jars for other platforms are left out.
    expect(v.jars.filter((j) => /-(osx|windows)-|aarch_64|riscv64/.test(j.path))).toEqual([]);
    expect(v.archive.sha512_url).toBe(`${v.archive.url}.sha512`);
    expect(v.archive.url).toBe('https://archive.apache.org/dist/cassandra/5.0.6/apache-cassandra-5.0.6-bin.tar.gz');
  });

  it('list the Spark Cassandra Connector for Spark 3.5 without jars Spark has already (Scala)', () => {
    const paths = pins.connector.jars.map((j) => j.path);
    expect(paths).toContain(`com/datastax/spark/spark-cassandra-connector_2.12/${pins.connector.version}/spark-cassandra-connector_2.12-${pins.connector.version}.jar`);
    expect(paths.filter((p) => p.startsWith('org/scala-lang/scala-library'))).toEqual([]);
  });

  it('become cache artifacts under maven2/ with Maven Central URLs; the connector only when asked', () => {
    const plain = cassandraArtifacts(pins, '5.0.6');
    const all = cassandraArtifacts(pins, '5.0.6', { connector: true });
    expect(all.length).toBe(plain.length + pins.connector.jars.length);
    expect(plain[0]!.path).toMatch(/^maven2\//);
    expect(plain[0]!.url).toBe(`https://repo1.maven.org/maven2/${plain[0]!.path.slice('maven2/'.length)}`);
  });

  it('refuse 4.1.10 by name (Java 8/11 are not in Debian 12), at the deployer check that POST runs', async () => {
    expect(cassandraVersionProblem(pins, '5.0.6')).toBeUndefined();
    expect(() => cassandraArtifacts(pins, '4.1.10')).toThrow(/cassandra 4\.1\.10 is not deployable here: .*Java 8 or 11.*choose 5\.0\.6/);
    const d = new AnsibleDeployer({ ansibleDir: join(PACKAGE_ROOT, 'ansible'), program: '/bin/true' } as ConstructorParameters<typeof AnsibleDeployer>[0]);
    expect((await d.check([{ type: 'cassandra', version: '4.1.10' }])).join('; ')).toMatch(/cassandra 4\.1\.10 is not deployable here/);
    expect(await d.check([{ type: 'cassandra', version: '5.0.6' }])).toEqual([]);
  });
});
