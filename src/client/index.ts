// The client half of `michman`: commands that talk to a Michman server over HTTP only (DESIGN.md:
// the client holds no rules of its own). cli.ts registers them beside the server's commands.
import type { Command } from 'commander';
import { EXIT_CODES_HELP } from './errors.js';
import { usageExit } from './context.js';
import { clusterCommands } from './commands/cluster.js';
import { operationCommands } from './commands/operation.js';
import { resourceCommands } from './commands/resources.js';
import { catalogCommands } from './commands/catalog.js';
import { templateCommands } from './commands/template.js';
import { loginCommands } from './commands/login.js';

export function registerClientCommands(program: Command): void {
  loginCommands(program);
  clusterCommands(program);
  operationCommands(program);
  resourceCommands(program);
  templateCommands(program);
  catalogCommands(program);
  // `michman clster list`: an unknown command is a usage error (2), as the client's own are.
  usageExit(program);
  program.addHelpText('after', `\nClient commands (login, cluster, operation, project, image, flavor, template, catalog list|show) talk to the server at --url, MICHMAN_URL or the last login's.\n${EXIT_CODES_HELP}`);
}
