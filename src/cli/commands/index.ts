/** The list of subcommands. Each module exports `register(program)`; add one line per command module. */
import type { Command } from 'commander';
import { register as registerConfig } from './config.ts';
import { register as registerCpg } from './cpg.ts';
import { register as registerCreate } from './create.ts';
import { register as registerDaemon } from './daemon.ts';
import { register as registerExpected } from './expected.ts';
import { register as registerKeygen } from './keygen.ts';
import { register as registerLink } from './link.ts';
import { register as registerLinks } from './links.ts';
import { register as registerLogs } from './logs.ts';
import { register as registerNodes } from './nodes.ts';
import { register as registerQuorum } from './quorum.ts';
import { register as registerStart } from './start.ts';
import { register as registerStatus } from './status.ts';

export function registerCommands(program: Command): void {
  registerStart(program);
  registerConfig(program);
  registerKeygen(program);
  registerStatus(program);
  registerNodes(program);
  registerLinks(program);
  registerQuorum(program);
  registerExpected(program);
  registerLink(program);
  registerLogs(program);
  registerCreate(program);
  registerCpg(program);
  registerDaemon(program);
}
