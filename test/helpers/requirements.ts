// A test that needs a program, a service or a privilege this machine may lack asks here instead of
// skipping on its own. On a developer's machine a missing requirement skips the test, and the
// title says why. With CI=true it fails the run, because CI is where the project proves what it
// claims: only an entry of ALLOWED_SKIPS, with its reason, may skip there.
import { existsSync } from 'node:fs';

/**
 * Requirements that may be missing even in CI, each with why. Empty on purpose: .ci/run installs
 * and starts everything the suites need. An entry needs a reason a reviewer can check.
 */
export const ALLOWED_SKIPS: Readonly<Record<string, string>> = {};

export class MissingRequirement extends Error {
  override name = 'MissingRequirement';
}

/** True when the test should skip; under CI=true a requirement missing and not allowed throws. */
export function lacks(requirement: string, present: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (present) return false;
  if (env.CI === 'true' && !Object.hasOwn(ALLOWED_SKIPS, requirement)) {
    throw new MissingRequirement(
      `CI=true and this machine lacks ${requirement}; install or start it in .ci/run, or add it to ALLOWED_SKIPS in test/helpers/requirements.ts with the reason`,
    );
  }
  return true;
}

/** `lacks` for a program, by its path. */
export const lacksProgram = (path: string): boolean => lacks(path, existsSync(path));

/** `lacks` for root (namespaces, service users, nspawn). */
export const lacksRoot = (): boolean => lacks('root', process.getuid?.() === 0);
