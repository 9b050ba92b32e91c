/**
 * corolink's corosync.conf engine: lossless parser/printer, typed model, defaults and derived values,
 * validation, corosync 2 → 3 migration and a layout-preserving editing API. See docs/config.md.
 */

export { LINK_NUMBER_MAX } from '../base/limits.ts';
export { addressFamily, canonicalAddress, IPV4_LINK_PREFIX, IPV6_LINK_PREFIX, linkNetwork } from './addresses.ts';
export {
  type ChangeEffect,
  type ConfigChange,
  type ConfigChangePlan,
  type PlanOptions,
  planConfigChange,
  refusalMessage,
} from './change-plan.ts';
export { type CheckedConfig, checkConfigText } from './check.ts';
export * from './defaults.ts';
export {
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  type Severity,
  type SourcePosition,
  sortDiagnostics,
} from './diagnostics.ts';
export {
  addLink,
  addNode,
  bumpConfigVersion,
  ConfigEditError,
  keyValue,
  type NewNode,
  type NodeSelector,
  nodeSections,
  removeKey,
  removeLink,
  removeNode,
  removeSection,
  setKey,
  setLinkOption,
} from './edit.ts';
export { formatConfig } from './format.ts';
export { type ClusterSpec, clusterConfigText, type GeneratedLink, type GeneratedNode } from './generate.ts';
export { configSizeProblem, loadConfigFile, loadUidgidDir, readConfigFile } from './load.ts';
export { type MigrationResult, migrateRrpToKnet } from './migrate.ts';
export {
  buildModel,
  type ClusterConfig,
  type ExtraEntry,
  type InterfaceConfig,
  type ModelResult,
  type NodeAddress,
  type NodeConfig,
} from './model.ts';
export { LINE_BYTES_MAX, type ParseResult, parseConfig } from './parse.ts';
export {
  appSocketPath,
  DEFAULT_APP_SOCKET_PATH,
  DEFAULT_AUTHKEY_PATH,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SOCKET_PATH,
  haWatchdogPaths,
  QDEVICE_NET_DIR,
  type QdeviceTlsFiles,
  qdeviceTlsFiles,
} from './paths.ts';
export { printConfig } from './print.ts';
export { type ConfigStamp, configStampOf } from './stamp.ts';
export type { ConfigTree, LineEnding, SectionNode, TreeNode } from './syntax.ts';
export { UIDGID_DIR, type UidGidEntry, type UidGidValue } from './uidgid.ts';
export { QUORUM_PROVIDER, validateConfig } from './validate.ts';
