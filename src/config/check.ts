/** The whole pipeline on text: parse → model → effective values → validation, as `config check` runs it. */
import { deriveEffective, type EffectiveConfig } from './defaults.ts';
import { type Diagnostic, hasErrors, sortDiagnostics } from './diagnostics.ts';
import { buildModel, type ClusterConfig } from './model.ts';
import { parseConfig } from './parse.ts';
import type { ConfigTree } from './syntax.ts';
import { validateConfig } from './validate.ts';

/** Everything known about one config file. */
export interface CheckedConfig {
  tree: ConfigTree;
  config: ClusterConfig;
  effective: EffectiveConfig;
  /** Sorted by position; errors and warnings together. */
  diagnostics: Diagnostic[];
  /** No error (warnings allowed). */
  valid: boolean;
}

/** Parses, models, derives and validates config text. Never throws. */
export function checkConfigText(text: string, fileName: string): CheckedConfig {
  const parsed = parseConfig(text, fileName);
  const model = buildModel(parsed.tree);
  const effective = deriveEffective(model.config);
  const diagnostics = sortDiagnostics([
    ...parsed.diagnostics,
    ...model.diagnostics,
    ...validateConfig(parsed.tree, model.config, effective),
  ]);
  return { tree: parsed.tree, config: model.config, effective, diagnostics, valid: !hasErrors(diagnostics) };
}
