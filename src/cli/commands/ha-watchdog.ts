/**
 * `corolink ha-watchdog`: the node's watchdog supervisor (src/daemon/ha/watchdog-supervisor.ts). The daemon starts
 * it; it is a command of its own so that it runs as a small process apart from the daemon.
 */
import type { Command } from 'commander';
import { DEFAULT_HA_KILL_GRACE_MS } from '../../config/defaults.ts';
import { WatchdogSupervisor } from '../../daemon/ha/watchdog-supervisor.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { stdinClosed } from '../stdin-closed.ts';

interface Flags {
  socket: string;
  pidFile: string;
  killGrace: string;
  exitWithParent?: boolean;
}

export function register(program: Command): void {
  program
    .command('ha-watchdog')
    .description("the node's HA watchdog supervisor (started by the daemon): stops the HA services when not fed")
    .requiredOption('--socket <path>', 'Unix socket the daemon feeds it on')
    .requiredOption('--pid-file <path>', 'where to write its pid')
    .option('--kill-grace <ms>', 'SIGTERM → SIGKILL grace for a process group', String(DEFAULT_HA_KILL_GRACE_MS))
    .option('--exit-with-parent', 'stop the services and leave when stdin closes')
    .action(async (flags: Flags) => {
      const killGraceMs = Number(flags.killGrace);
      if (!Number.isInteger(killGraceMs) || killGraceMs < 0 || killGraceMs > 60_000)
        throw new CliError(`--kill-grace must be 0–60000 ms, not "${flags.killGrace}"`, ExitCode.usage);
      const supervisor = await WatchdogSupervisor.start({
        socketPath: flags.socket,
        pidFile: flags.pidFile,
        killGraceMs,
      });
      const stopped = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('stopped by SIGTERM'));
        process.once('SIGINT', () => resolve('stopped by SIGINT'));
        if (flags.exitWithParent) void stdinClosed().then(() => resolve('the parent process is gone'));
      });
      const reason = await Promise.race([stopped, supervisor.exited.then(() => undefined)]);
      if (reason !== undefined) await supervisor.close(reason);
      process.exit(0);
    });
}
