/**
 * corosync's `logging {}` section (and its `logger_subsys {}` blocks) as logger options, the way corosync reads it:
 * each destination on or off (`to_stderr`, `to_logfile`, `to_syslog`), with its least severe priority
 * (`logfile_priority`, `syslog_priority`; default info), `debug: on` taking debug records everywhere, and a
 * `logger_subsys` overriding any of these for one subsystem. What corolink cannot honour is a warning.
 */
import type { LoggerSubsysKeys, LoggingKeys } from '../config/schema.ts';
import type { LoggerOptions, LogLevel, LogRoute, Subsystem, TimestampMode } from './log.ts';
import { SUBSYSTEMS } from './log.ts';
import { SYSLOG_FACILITY } from './log-sinks.ts';

/** corosync's priority names (libqb's) as our levels: the severe ones are all errors, trace is debug. */
const PRIORITY_LEVEL: Readonly<Record<string, LogLevel>> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  err: 'error',
  error: 'error',
  warning: 'warning',
  notice: 'notice',
  info: 'info',
  debug: 'debug',
  trace: 'debug',
};
const DEFAULT_PRIORITY: LogLevel = 'info';
/** corosync's default facility. */
const DEFAULT_FACILITY = 'daemon';

export interface LoggingSetup {
  options: LoggerOptions;
  /** What the section asks that is ignored or replaced, one line each (logged at start). */
  warnings: string[];
}

type Targets = Pick<
  LoggingKeys,
  'to_stderr' | 'to_logfile' | 'to_syslog' | 'logfile_priority' | 'syslog_priority' | 'debug'
>;

export function loggingSetup(
  logging: LoggingKeys,
  loggerSubsys: readonly LoggerSubsysKeys[],
  extra: { forceStderr: boolean; host?: string; nodeId?: number },
): LoggingSetup {
  const warnings: string[] = [];
  const priority = (value: string | undefined, where: string): LogLevel => {
    if (value === undefined) return DEFAULT_PRIORITY;
    const level = PRIORITY_LEVEL[value];
    if (level === undefined) {
      warnings.push(`${where}: unknown priority "${value}", using ${DEFAULT_PRIORITY}`);
      return DEFAULT_PRIORITY;
    }
    return level;
  };
  const route = (keys: Targets, where: string): LogRoute => {
    const debug = keys.debug === 'on' || keys.debug === 'trace';
    const file = priority(keys.logfile_priority, `${where}.logfile_priority`);
    const syslog = priority(keys.syslog_priority, `${where}.syslog_priority`);
    return {
      ring: debug ? 'debug' : 'info',
      ...(extra.forceStderr || keys.to_stderr === true ? { stderr: debug ? 'debug' : 'info' } : {}),
      ...(keys.to_logfile === true ? { file: debug ? 'debug' : file } : {}),
      ...(keys.to_syslog === true ? { syslog: debug ? 'debug' : syslog } : {}),
    };
  };
  const subsys: Partial<Record<Subsystem, LogRoute>> = {};
  for (const [index, keys] of loggerSubsys.entries()) {
    const where = `logging.logger_subsys.${index}`;
    const name = keys.subsys?.toUpperCase();
    if (name === undefined || !SUBSYSTEMS.includes(name as Subsystem)) {
      warnings.push(`${where}: no subsystem "${keys.subsys ?? ''}" (corolink has ${SUBSYSTEMS.join(', ')}): ignored`);
      continue;
    }
    // A logger_subsys key left out keeps the logging section's value.
    const merged: Targets = { ...pick(logging), ...definedOnly(pick(keys)) };
    subsys[name as Subsystem] = route(merged, where);
  }
  for (const key of ['fileline', 'function_name', 'blackbox'] as const) {
    if (logging[key] === true) warnings.push(`logging.${key}: not supported by corolink, ignored`);
  }
  const facilityName = logging.syslog_facility ?? DEFAULT_FACILITY;
  let syslogFacility = SYSLOG_FACILITY[facilityName];
  if (syslogFacility === undefined) {
    warnings.push(`logging.syslog_facility: unknown facility "${facilityName}", using ${DEFAULT_FACILITY}`);
    syslogFacility = SYSLOG_FACILITY[DEFAULT_FACILITY]!;
  }
  const options: LoggerOptions = {
    route: route(logging, 'logging'),
    subsys,
    ...(logging.to_logfile === true && logging.logfile ? { logFile: logging.logfile } : {}),
    syslogFacility,
    timestamp: (logging.timestamp ?? 'hires') as TimestampMode,
    ...(extra.host === undefined ? {} : { host: extra.host }),
    ...(extra.nodeId === undefined ? {} : { nodeId: extra.nodeId }),
  };
  return { options, warnings };
}

function pick(keys: Targets): Targets {
  const { to_stderr, to_logfile, to_syslog, logfile_priority, syslog_priority, debug } = keys;
  return { to_stderr, to_logfile, to_syslog, logfile_priority, syslog_priority, debug };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
