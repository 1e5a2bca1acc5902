import type { Project } from './wire.js';
import { validation, generatedField, requiredField } from './errors.js';
import { checkDisplayName } from './names.js';
import { definedOnly } from './images.js';

export const PROJECT_REFS = [
  'DefaultImage',
  'DefaultMasterFlavor',
  'DefaultSlavesFlavor',
  'DefaultStorageFlavor',
  'DefaultMonitoringFlavor',
] as const;

/**
 * Steps 2–4 of the original's POST /projects, in its order, except that the empty required fields
 * are named in one answer (the original named the first). `refsRequired` false: the provider needs
 * no image or flavors (local), so the project may name none.
 */
export function checkNewProject(p: Project, o: { refsRequired?: boolean } = {}): void {
  if (p.ID) throw generatedField('project', 'ID');
  if (p.Name) throw generatedField('project', 'Name');
  const missing = [...(p.DisplayName ? [] : ['DisplayName']), ...(o.refsRequired === false ? [] : PROJECT_REFS.filter((f) => !p[f]))];
  if (missing.length === 1) throw requiredField('project', missing[0]!);
  if (missing.length > 1) throw validation(`required project fields are empty: ${missing.map((f) => `'${f}'`).join(', ')}`);
  checkDisplayName('project', p.DisplayName!);
}

export function patchProject(stored: Required<Project>, body: Project): Required<Project> {
  if (body.ID || body.Name) throw validation("some project fields can't be modified (ID, Name)");
  // The original skipped the name rule on update; a bad DisplayName is refused here as on create.
  if (body.DisplayName !== undefined) checkDisplayName('project', body.DisplayName);
  for (const f of PROJECT_REFS) if (body[f] === '') throw requiredField('project', f);
  return { ...stored, ...definedOnly(body), ID: stored.ID, Name: stored.Name };
}
