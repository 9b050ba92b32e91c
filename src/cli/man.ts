/**
 * Man pages in roff (man(7)) from the command tree (./command-tree.ts), the same text --help prints:
 * corolink(8) with every command, one page per top-level command (corolink-config(8), …) with all its subcommands,
 * and corolink.conf(5) for corolink's own keys of corosync.conf, described by the config schema.
 */
import { allCommands, type CommandNode, type OptionNode } from './command-tree.ts';

export interface ManPage {
  /** File name: `corolink-config.8`. */
  file: string;
  text: string;
}

export interface ConfigKey {
  name: string;
  description: string;
}

/** roff text: backslashes escaped, a leading dot or quote made literal, hyphens as minus signs. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function header(title: string, section: number, version: string, manual: string): string {
  return `.TH ${title.toUpperCase()} ${section} "" "corolink ${version}" "${manual}"`;
}

function optionItems(options: readonly OptionNode[]): string[] {
  return options.flatMap((o) => ['.TP', `.B ${roff(o.flags)}`, roff(o.description)]);
}

/** One command's synopsis, options, subcommands and help text, as sections of a page. */
function commandSections(node: CommandNode): string[] {
  const name = node.path.join(' ');
  const lines = ['.SH SYNOPSIS', `.B ${roff(name)}`, roff(node.usage), '.SH DESCRIPTION', roff(node.description)];
  if (node.arguments.length > 0) {
    lines.push('.SH ARGUMENTS');
    for (const a of node.arguments) lines.push('.TP', `.I ${roff(a.name)}`, roff(a.description || '(required)'));
  }
  lines.push('.SH OPTIONS', ...optionItems(node.options));
  if (node.after) lines.push('.SH NOTES', '.nf', roff(node.after), '.fi');
  // Every level below (`ha group add` too), depth first.
  for (const sub of allCommands(node).slice(1)) {
    lines.push(`.SS ${roff(sub.path.join(' '))} ${roff(sub.usage)}`, roff(sub.description));
    for (const a of sub.arguments) lines.push('.TP', `.I ${roff(a.name)}`, roff(a.description || '(required)'));
    lines.push(...optionItems(sub.options));
    if (sub.after) lines.push('.PP', '.nf', roff(sub.after), '.fi');
  }
  return lines;
}

const SEE_ALSO_CONF = '.BR corolink.conf (5),';

export function manPages(root: CommandNode, configKeys: readonly ConfigKey[], version: string): ManPage[] {
  const pageName = (node: CommandNode) => node.path.join('-');
  const commandPages = root.subcommands.map((node) => ({
    file: `${pageName(node)}.8`,
    text: [
      header(pageName(node), 8, version, 'System Administration'),
      '.SH NAME',
      `${roff(pageName(node))} \\- ${roff(node.description.split('\n')[0]!)}`,
      ...commandSections(node),
      '.SH SEE ALSO',
      '.BR corolink (8),',
      SEE_ALSO_CONF,
      '.BR systemctl (1)',
    ].join('\n'),
  }));
  const main: ManPage = {
    file: 'corolink.8',
    text: [
      header('corolink', 8, version, 'System Administration'),
      '.SH NAME',
      `corolink \\- ${roff(root.description.replace(/^corolink: /, ''))}`,
      '.SH SYNOPSIS',
      '.B corolink',
      '.I command',
      '[\\fIoptions\\fR]',
      '.SH DESCRIPTION',
      'One program runs a cluster node (\\fBcorolink daemon\\fR, started by systemd from corolink.service) and',
      "manages it through the daemon's admin socket. Every command prints its own help with \\fB\\-\\-help\\fR.",
      '.SH COMMANDS',
      ...root.subcommands.flatMap((node) => [
        '.TP',
        `.BR ${roff(pageName(node))} (8)`,
        roff(node.description.split('\n')[0]!),
      ]),
      '.SH OPTIONS',
      ...optionItems(root.options),
      '.SH FILES',
      '.TP',
      '.I /etc/corolink/corosync.conf',
      "the cluster configuration, corosync's grammar (see \\fBcorolink.conf\\fR(5))",
      '.TP',
      '.I /etc/corolink/authkey',
      'the shared key every packet key is derived from',
      '.TP',
      '.I /run/corolink/corolink.sock',
      'the admin socket (\\fB$COROLINK_SOCKET\\fR)',
      '.TP',
      '.I /run/corolink-app/corolink.sock',
      'the application socket, for the users and groups of \\fBuidgid\\fR sections',
      '.TP',
      '.I /var/lib/corolink',
      "the node's state (ring id, replicated store)",
      '.SH SEE ALSO',
      ...root.subcommands.map((node) => `.BR ${roff(pageName(node))} (8),`),
      SEE_ALSO_CONF,
      '.BR corosync.conf (5)',
    ].join('\n'),
  };
  const conf: ManPage = {
    file: 'corolink.conf.5',
    text: [
      header('corolink.conf', 5, version, 'File Formats'),
      '.SH NAME',
      "corolink.conf \\- corolink's extensions of corosync.conf",
      '.SH DESCRIPTION',
      'corolink reads corosync.conf (\\fBcorosync.conf\\fR(5)) as corosync 3 does, knet links, votequorum and the',
      '\\fBlogging\\fR section included. Its own keys live in a \\fBcorolink {}\\fR section, which corosync ignores,',
      'so one file serves both.',
      '.SH THE corolink SECTION',
      ...configKeys.flatMap((k) => ['.TP', `.B ${roff(k.name)}`, roff(k.description)]),
      '.SH LOGGING',
      "\\fBto_syslog: yes\\fR sends records to the journal's native socket when it exists (fields",
      '\\fBSYSLOG_IDENTIFIER=corolink\\fR, \\fBPRIORITY\\fR, \\fBCOROLINK_NODEID\\fR, \\fBCOROLINK_SUBSYS\\fR), else to',
      '\\fI/dev/log\\fR. \\fBfileline\\fR, \\fBfunction_name\\fR and \\fBblackbox\\fR are accepted and ignored, with a',
      'warning at start. The log file is reopened on \\fBSIGHUP\\fR or \\fBcorolink logs \\-\\-reopen\\fR.',
      '.SH EXAMPLE',
      '.nf',
      'corolink {',
      '    http_address: 127.0.0.1',
      '    http_port: 9405',
      '}',
      '.fi',
      '.SH SEE ALSO',
      '.BR corolink (8),',
      '.BR corosync.conf (5)',
    ].join('\n'),
  };
  return [main, ...commandPages, conf].map((page) => ({ ...page, text: `${page.text}\n` }));
}
