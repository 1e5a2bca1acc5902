export { AnsibleDeployer, catalogTypes, type AnsibleDeployerOptions } from './deployer.js';
export { buildInventory } from './inventory.js';
export { runPlaybook, PlaybookError, ansibleEnv, ANSIBLE_PLAYBOOK } from './playbook.js';
