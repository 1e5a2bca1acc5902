// What the local JVM services (Spark, HDFS, Cassandra, OpenSearch) look up on the host: Debian's
// Java 17, and the first of several candidate paths that exists.
import { access, constants } from 'node:fs/promises';

/** Debian's OpenJDK 17 (amd64, arm64), then whatever `java` the host has. */
export const JAVA = ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/lib/jvm/java-17-openjdk-arm64/bin/java', '/usr/bin/java'];

/** The first of `paths` accessible with `mode` (readable by default), or undefined. */
export async function firstExisting(paths: string[], mode = constants.R_OK): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await access(p, mode);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
