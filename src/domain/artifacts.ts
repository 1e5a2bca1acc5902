// A pinned file a role installs: what the deployer asks for (deploy/ansible/sparkArtifacts.ts) and
// what a provider's cache fetches and serves (providers/nspawn/artifactCache.ts). A plain type here,
// so that neither of the two imports the other.

/** One file of an artifact cache: where it lives in the cache, where it comes from, what it must hash to. */
export interface Artifact {
  /** Relative path in the cache (and in the served URL), e.g. `maven2/org/apache/.../x.jar`. */
  path: string;
  url: string;
  sha256?: string;
  sha1?: string;
  sha512?: string;
}
