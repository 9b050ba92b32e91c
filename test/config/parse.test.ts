/** Parser details that follow corosync's coroparse.c. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildModel, parseConfig, printConfig } from '../../src/config/index.ts';

describe('parseConfig', () => {
  test('splits key: value at the first colon, so IPv6 addresses need no quoting', () => {
    const { tree, diagnostics } = parseConfig('nodelist {\n  node {\n    ring0_addr: 2001:db8::1\n  }\n}\n');
    assert.deepEqual(diagnostics, []);
    const { config } = buildModel(tree);
    assert.deepEqual(config.nodes[0]?.addresses, [{ link: 0, address: '2001:db8::1' }]);
    assert.deepEqual(config.sources['nodelist.node.0.ring0_addr'], { line: 3, column: 17 });
  });

  test('accepts `name: {`, tabs, CRLF, an empty value and a missing final newline', () => {
    const text = 'totem: {\r\n\tcluster_name:\r\n\tversion:\t2\r\n}';
    const { tree, diagnostics } = parseConfig(text);
    assert.deepEqual(diagnostics, []);
    assert.equal(printConfig(tree), text);
    const section = tree.children[0];
    assert.equal(section?.kind === 'section' && section.name, 'totem');
    const { config } = buildModel(tree);
    assert.deepEqual([config.totem.version, config.totem.cluster_name], [2, '']);
  });

  test('keeps stray lines as error nodes and still prints them', () => {
    const text = '....\ntotem {\n  version 2\n}\n}\n';
    const { tree, diagnostics } = parseConfig(text, 'x.conf');
    assert.equal(printConfig(tree), text);
    assert.deepEqual(
      diagnostics.map((d) => [d.line, d.column, d.severity]),
      [
        [1, 1, 'error'],
        [3, 3, 'error'],
        [5, 1, 'error'],
      ],
    );
    assert.deepEqual(
      tree.children.map((c) => c.kind),
      ['error', 'section', 'error'],
    );
  });

  test('a byte order mark is reported, and the section it hides is unknown, as corosync would see it', () => {
    const text = '\uFEFFtotem {\n  version: 2\n}\n';
    const { tree, diagnostics } = parseConfig(text);
    assert.equal(printConfig(tree), text);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.line, d.column]),
      [['byte-order-mark', 1, 1]],
    );
    assert.deepEqual(buildModel(tree).config.sections, ['\uFEFFtotem']);
  });

  test('the last of a repeated key wins, as in corosync', () => {
    const { config } = buildModel(parseConfig('totem {\n  token: 1000\n  token: 2000\n}\n').tree);
    assert.equal(config.totem.token, 2000);
    assert.deepEqual(config.sources['totem.token'], { line: 3, column: 10 });
  });

  test('unknown keys and sections are kept, never dropped', () => {
    const { config, diagnostics } = buildModel(parseConfig('totem {\n  shiny: yes\n  extra {\n  }\n}\n').tree);
    assert.deepEqual(
      config.extra.map((e) => [e.path, e.value]),
      [
        ['totem.shiny', 'yes'],
        ['totem.extra', null],
      ],
    );
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['unknown-key', 'unknown-section'],
    );
  });

  test('the corolink section is typed', () => {
    const { config, diagnostics } = buildModel(
      parseConfig('corolink {\n  http_port: 8006\n  ping_profile: corosync\n  allow_crypto_none: yes\n}\n').tree,
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(config.corolink, { http_port: 8006, ping_profile: 'corosync', allow_crypto_none: true });
  });
});
