import { describe, expect, it } from 'vitest';
import { ALLOWED_SKIPS, MissingRequirement, lacks } from './helpers/requirements.js';

describe('test requirements (no silent skips in CI)', () => {
  it('a present requirement never skips', () => {
    expect(lacks('redis-server', true, { CI: 'true' })).toBe(false);
    expect(lacks('redis-server', true, {})).toBe(false);
  });

  it('outside CI a missing requirement skips', () => {
    expect(lacks('a program nobody has', false, {})).toBe(true);
  });

  it('with CI=true a missing requirement fails, naming it and the way out', () => {
    expect(() => lacks('a program nobody has', false, { CI: 'true' })).toThrow(MissingRequirement);
    expect(() => lacks('a program nobody has', false, { CI: 'true' })).toThrow(/a program nobody has.*\.ci\/run.*ALLOWED_SKIPS/);
  });

  it('every allow-list entry gives its reason', () => {
    for (const [what, why] of Object.entries(ALLOWED_SKIPS)) expect(why.trim().length, what).toBeGreaterThan(10);
  });
});
