// The pins of the elastic and ignite roles as the nspawn deployer reads them: every file has a
// Maven Central URL and a checksum, and a version without pins (or needing Java 21) is refused by name.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { elasticArtifacts, igniteArtifacts, jvmVersionProblem, readElasticPins, readIgnitePins } from '../../src/deploy/ansible/jvmArtifacts.js';

const ANSIBLE = join(process.cwd(), 'ansible');

describe('elastic and ignite pins', () => {
  it('OpenSearch 2.19.3: the integ-test-zip from Maven Central with a SHA-512', () => {
    const [a, ...rest] = elasticArtifacts(readElasticPins(ANSIBLE), '2.19.3');
    expect(rest).toEqual([]);
    expect(a!.url).toBe('https://repo1.maven.org/maven2/org/opensearch/distribution/integ-test-zip/opensearch/2.19.3/opensearch-2.19.3.zip');
    expect(a!.path).toBe('maven2/org/opensearch/distribution/integ-test-zip/opensearch/2.19.3/opensearch-2.19.3.zip');
    expect(a!.sha512).toMatch(/^[0-9a-f]{128}$/);
  });

  it('Ignite 2.17.0: ignite-core, ignite-spring with Spring, ignite-control-utility, each with a SHA-1', () => {
    const jars = igniteArtifacts(readIgnitePins(ANSIBLE), '2.17.0');
    const names = jars.map((j) => j.path.split('/').pop());
    expect(names).toEqual(expect.arrayContaining(['ignite-core-2.17.0.jar', 'ignite-spring-2.17.0.jar', 'ignite-control-utility-2.17.0.jar', 'cache-api-1.0.0.jar']));
    expect(names.some((n) => n!.startsWith('spring-context-'))).toBe(true);
    for (const j of jars) expect(j.sha1).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses by name what cannot be deployed from the pins', () => {
    expect(jvmVersionProblem(ANSIBLE, 'elastic', '2.19.3')).toBeUndefined();
    expect(jvmVersionProblem(ANSIBLE, 'ignite', '2.17.0')).toBeUndefined();
    expect(jvmVersionProblem(ANSIBLE, 'elastic', '3.3.2')).toMatch(/elastic version 3\.3\.2 cannot be deployed: OpenSearch 3\.x needs Java 21/);
    expect(jvmVersionProblem(ANSIBLE, 'elastic', '2.11.0')).toMatch(/elastic version 2\.11\.0 cannot be deployed: no OpenSearch distribution is pinned for it \(pinned: 2\.19\.3, 3\.3\.2\)/);
    expect(jvmVersionProblem(ANSIBLE, 'ignite', '2.16.0')).toMatch(/ignite version 2\.16\.0 cannot be deployed: no Ignite jars are pinned/);
    expect(jvmVersionProblem(ANSIBLE, 'redis', '7.0')).toBeUndefined();
    expect(() => elasticArtifacts(readElasticPins(ANSIBLE), '1.0')).toThrow(/elastic 1\.0: no pinned OpenSearch distribution/);
  });
});
