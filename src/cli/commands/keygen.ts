/** `corolink keygen`: a random cluster authkey, as corosync-keygen makes one (256 random bytes, mode 0400). */
import type { Command } from 'commander';
import { DEFAULT_AUTHKEY_PATH } from '../../config/paths.ts';
import { AUTHKEY_BYTES, writeAuthkey } from '../authkey.ts';

/** Where corolink looks for its authkey by default. */

async function keygen(options: { output: string; force?: boolean }): Promise<void> {
  await writeAuthkey(options.output, { force: options.force === true });
  process.stdout.write(`wrote a ${AUTHKEY_BYTES}-byte authkey to ${options.output} (mode 0400)\n`);
}

/** Registers `corolink keygen`. */
export function register(program: Command): void {
  program
    .command('keygen')
    .description('generate a random cluster authkey (256 bytes, mode 0400), like corosync-keygen')
    .option('-o, --output <file>', 'where to write the key', DEFAULT_AUTHKEY_PATH)
    .option('--force', 'replace an existing key')
    .addHelpText(
      'after',
      '\nAn existing key is never replaced without --force.\n\nExample:\n  corolink keygen -o /etc/corolink/authkey\n  (then copy the same file to every node)',
    )
    .action(keygen);
}
