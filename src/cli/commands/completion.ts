/** `corolink completion bash|zsh|fish`: prints a completion script for the shell, from the command tree. */
import type { Command } from 'commander';
import { commandTree } from '../command-tree.ts';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { buildProgram } from '../program.ts';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for every command and option (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      '\nExamples:\n  source <(corolink completion bash)\n  corolink completion zsh > /usr/local/share/zsh/site-functions/_corolink\n  corolink completion fish > ~/.config/fish/completions/corolink.fish',
    )
    .action(async (shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new CliError(`unknown shell "${shell}": give ${SHELLS.join(', ')}`, ExitCode.usage);
      }
      // The whole tree: this command's own program has only this command registered.
      process.stdout.write(completionScript(shell as Shell, commandTree(await buildProgram([]))));
    });
}
