import { expect } from 'vitest';
import { MichmanError } from '../../src/domain/errors.js';

/** Runs fn, asserts it threw a MichmanError, and returns it for the caller's own checks. */
export function thrownBy(fn: () => unknown): MichmanError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(MichmanError);
  return caught as MichmanError;
}
