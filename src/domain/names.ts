// Name rules shared by projects, clusters and templates (the original's cluster regex).
import { validation } from './errors.js';

const DISPLAY_NAME = /^[A-Za-z][A-Za-z0-9-]+$/;

export const BAD_NAME =
  "validation error. Bad name. You should use only alpha-numeric characters and '-' symbols and only alphabetic characters for leading symbol";

/** `object` names the resource in the message (the original said "cluster" even for projects). */
export function checkDisplayName(object: string, name: string): void {
  if (!DISPLAY_NAME.test(name)) throw validation(`${object} ${BAD_NAME}`);
}

// Service type names become Ansible variable prefixes (deploy_<type>, <type>_version).
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
export function checkTypeName(name: string): void {
  if (!TYPE_NAME.test(name)) {
    throw validation(
      `service type 'Type' must start with a letter and contain only letters, digits and '_' (it prefixes Ansible variables); got '${name}'`,
    );
  }
}
