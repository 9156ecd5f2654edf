import { describe, expect, it } from '@jest/globals';
import { Diagnostics } from './layout-diagnostics.js';
import { parseLayoutYaml, type YNode } from './layout-yaml.js';

function parse(text: string): { node: YNode | undefined; errors: string[] } {
  const diags = new Diagnostics();
  const node = parseLayoutYaml({ file: 'f.yaml', text }, diags);
  return { node, errors: diags.errors.map((d) => `${d.line}: ${d.message}`) };
}

/** The tree as `[line, value]` pairs, keys as `key@line`, for compact assertions. */
function shape(n: YNode): unknown {
  if (n.kind === 'scalar') return [n.line, n.value];
  if (n.kind === 'seq') return [n.line, n.items.map(shape)];
  return [n.line, Object.fromEntries(n.entries.map((e) => [`${e.key}@${e.line}`, shape(e.value)]))];
}

describe('parseLayoutYaml', () => {
  it('puts keys on their own line and a block value on the line its content starts', () => {
    const { node } = parse(
      '- job:\n    name: a\n    vars:\n      # a comment\n\n      - x\n    empty:\n',
    );
    expect(shape(node!)).toEqual([
      1,
      [
        [
          1,
          {
            'job@1': [
              2,
              {
                'name@2': [2, 'a'],
                'vars@3': [6, [[6, 'x']]],
                'empty@7': [7, null],
              },
            ],
          },
        ],
      ],
    ]);
  });

  it('applies << merges, own keys first, keeping the lines where merged keys were written', () => {
    const { node, errors } = parse(
      '- base: &b\n    timeout: 10\n    attempts: 2\n- job:\n    <<: *b\n    attempts: 5\n',
    );
    expect(errors).toEqual([]);
    const job = node!.kind === 'seq' ? node!.items[1] : undefined;
    expect(shape(job!)).toEqual([
      4,
      { 'job@4': [5, { 'attempts@6': [6, 5], 'timeout@2': [2, 10] }] },
    ]);
  });

  it('reuses the node of an anchored collection for each alias', () => {
    const { node } = parse('a: &x [1, 2]\nb: *x\n');
    const [a, b] = node!.kind === 'map' ? node!.entries : [];
    expect(a!.value).toBe(b!.value);
  });

  it('falls back to the parent line when events and values disagree', () => {
    // Explicit keys and an empty list item compose fewer nodes than values.
    const { node, errors } = parse('? a\n: 1\nlist:\n  -\n  - y\nflow: {k, v: 2}\n');
    expect(errors).toEqual([]);
    expect(shape(node!)).toEqual([
      1,
      {
        'a@1': [2, 1],
        'list@3': [
          4,
          [
            [4, null],
            [4, 'y'],
          ],
        ],
        'flow@6': [6, { 'k@6': [6, null], 'v@6': [6, 2] }],
      },
    ]);
  });

  it('keeps the values of local tags such as Zuul secrets, dropping the tag', () => {
    const { node, errors } = parse(
      's: !encrypted/pkcs1-oaep\n  - AAAA\n  - BBBB\nt: !inherit [a]\n',
    );
    expect(errors).toEqual([]);
    expect(shape(node!)).toEqual([
      1,
      {
        's@1': [
          1,
          [
            [2, 'AAAA'],
            [3, 'BBBB'],
          ],
        ],
        't@4': [4, [[4, 'a']]],
      },
    ]);
  });

  it('reads no timestamps: dates stay strings', () => {
    expect(shape(parse('d: 2024-01-02\n').node!)).toEqual([1, { 'd@1': [1, '2024-01-02'] }]);
  });

  it.each([
    ['a: 1\na: 2\n', '2: malformed YAML: duplicated mapping key'],
    ['a: *nope\n', '1: malformed YAML: unidentified alias "nope"'],
    ['a: &x {b: *x}\n', '1: malformed YAML: an alias refers to a node that contains it'],
    ['? [1]\n: 2\n', '1: malformed YAML: mapping keys must be plain strings'],
    ['a: 1\n<<: 3\n', '2: malformed YAML: a << merge key needs a mapping or a list of mappings'],
  ])('reports %j as %s', (text, error) => {
    expect(parse(text).errors).toEqual([error]);
  });

  it('refuses an alias bomb that would expand past the node budget', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 7; i++) {
      const refs = Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ');
      lines.push(`a${i}: &a${i} [${refs}]`);
    }
    expect(parse(lines.join('\n')).errors).toEqual([
      expect.stringMatching(/too many nodes after expanding aliases/),
    ]);
  });

  it('treats an empty file as no layout, without an error', () => {
    expect(parse('# only a comment\n')).toEqual({ node: undefined, errors: [] });
  });
});
