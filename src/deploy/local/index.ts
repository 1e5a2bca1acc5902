export { LocalDeployer, LOCAL_SERVICE_MODULES, type LocalDeployerOptions } from './deployer.js';
export type { ServiceModule, ServiceRun, Launch, Located } from './service.js';
