/**
 * The import rules between the folders of src/, checked on every `npm test`
 * with dependency-cruiser's `cruise` API over src/ and scripts/. A failure
 * lists every violation with the import chain that causes it.
 *
 * Rules (docs/architecture.md "Layers" says why):
 * - no import cycles anywhere. Type-only imports (`import type`) do not
 *   count: Node erases them before running the code, so they cannot create
 *   a run-time cycle (src/node/service.ts and the services it describes
 *   name each other's types, for instance). Since dependency-cruiser also
 *   calls `import { type X }` type-only while Node keeps it as a run-time
 *   import, that form is refused (write `import type { X }`).
 * - src/protocol never reaches TensorFlow.js, libp2p or I/O modules, even
 *   through other files; src/core neither, nor src/node, src/cluster,
 *   src/sim or src/bench; src/train never reaches src/node, src/cluster,
 *   src/bench, src/sim or libp2p; src/sim never src/node, src/cluster or
 *   libp2p; src/node never src/bench, src/sim or src/cluster; src/common
 *   imports nothing from src/ outside src/common. For these layer rules a
 *   type-only import counts too: a layer that names libp2p's or the
 *   daemon's types depends on them, even if nothing loads them at run time.
 * - every import resolves (an import the cruiser cannot resolve would hide
 *   whatever is behind it from the rules above).
 *
 * The second test cruises test/fixtures/architecture, a tiny tree that
 * breaks each rule once, and expects exactly those violations: so every
 * rule is shown to fail when it should.
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';

const TFJS = '(^|/)node_modules/@tensorflow/';
const LIBP2P = '(^|/)node_modules/(libp2p|@libp2p|@chainsafe|@multiformats)/';
/** Node's I/O modules, with or without the `node:` prefix (dependency-cruiser reports them without it). */
const IO = '^(node:)?(fs|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads|readline)(/|$)';

const RULES: IForbiddenRuleType[] = [
  {
    name: 'no-cycle',
    severity: 'error',
    from: {},
    to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
  },
  { name: 'protocol-is-pure', severity: 'error', from: { path: '^src/protocol/' }, to: { path: [TFJS, LIBP2P, IO], reachable: true } },
  {
    name: 'core-is-pure',
    severity: 'error',
    from: { path: '^src/core/' },
    to: { path: [TFJS, LIBP2P, IO, '^src/(node|cluster|sim|bench)/'], reachable: true },
  },
  { name: 'train-stays-below-node', severity: 'error', from: { path: '^src/train/' }, to: { path: ['^src/(node|cluster|bench|sim)/', LIBP2P], reachable: true } },
  { name: 'sim-has-no-network', severity: 'error', from: { path: '^src/sim/' }, to: { path: ['^src/(node|cluster)/', LIBP2P], reachable: true } },
  { name: 'node-is-the-daemon-only', severity: 'error', from: { path: '^src/node/' }, to: { path: '^src/(bench|sim|cluster)/', reachable: true } },
  { name: 'common-stands-alone', severity: 'error', from: { path: '^src/common/' }, to: { path: '^src/', pathNot: '^src/common/' } },
  { name: 'resolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
];

/** An import or re-export whose every name is an inline `type`: Node still loads the module. */
const INLINE_TYPE_ONLY = /^\s*(?:import|export)\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/gm;

interface Finding {
  rule: string;
  from: string;
  to: string;
  detail: string;
}

async function check(baseDir: string, roots: string[]): Promise<Finding[]> {
  const { output } = await cruise(roots, {
    baseDir,
    validate: true,
    ruleSet: { forbidden: RULES },
    // Keep type-only imports in the graph (marked 'type-only'), for the layer rules.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // Resolve packages through their `exports`, so they land on node_modules paths the rules can match.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default', 'types'], mainFields: ['module', 'main', 'types'] },
  });
  const result = output as ICruiseResult;
  const findings = result.summary.violations.map(toFinding);
  for (const module of result.modules) {
    if (module.coreModule || !/^(src|scripts)\/.*\.ts$/.test(module.source)) continue;
    const text = await readFile(join(baseDir, module.source), 'utf8');
    for (const match of text.matchAll(INLINE_TYPE_ONLY)) {
      const names = match[1]!.split(',').map((name) => name.trim()).filter((name) => name !== '');
      if (names.length > 0 && names.every((name) => name.startsWith('type '))) {
        findings.push({
          rule: 'no-inline-type-only-import',
          from: module.source,
          to: match[2]!,
          detail: `write \`import type { ... }\`: Node keeps \`${match[0].trim()}\` and loads the module at run time`,
        });
      }
    }
  }
  return findings;
}

function toFinding(violation: IViolation): Finding {
  const chain = (violation.cycle ?? violation.via ?? []).map((step) => step.name);
  const detail = violation.cycle !== undefined ? `cycle ${violation.from} > ${chain.join(' > ')}` : chain.length > 1 ? `via ${chain.join(' > ')}` : 'direct import';
  return { rule: violation.rule.name, from: violation.from, to: violation.to, detail };
}

const format = (findings: Finding[]): string => findings.map((f) => `  ${f.rule}: ${f.from} -> ${f.to} (${f.detail})`).join('\n');

/** A resolved npm path shortened to the package, so expectations do not depend on where node_modules is. */
const shortTarget = (to: string): string => to.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, 'npm:$1');

describe('architecture (dependency rules over src/ and scripts/)', function () {
  this.timeout(30_000);

  it('src/ and scripts/ break none of the rules', async () => {
    const findings = await check(process.cwd(), ['src', 'scripts']);
    assert.equal(findings.length, 0, `${findings.length} dependency rule violation(s):\n${format(findings)}`);
  });

  it('each rule fails on a fixture tree built to break it', async () => {
    const findings = await check(join(process.cwd(), 'test', 'fixtures', 'architecture'), ['src']);
    const seen = findings.map((f) => `${f.rule}: ${f.from} -> ${shortTarget(f.to)}`).sort();
    assert.deepEqual(
      seen,
      [
        'common-stands-alone: src/common/uses-protocol.ts -> src/protocol/pure.ts',
        'core-is-pure: src/core/names-libp2p.ts -> npm:libp2p',
        'core-is-pure: src/core/uses-sim.ts -> src/sim/clock.ts',
        'no-cycle: src/bench/cycle-a.ts -> src/bench/cycle-b.ts',
        'no-inline-type-only-import: src/bench/inline-type.ts -> ./type-cycle-a.ts',
        'node-is-the-daemon-only: src/node/uses-bench.ts -> src/bench/bench.ts',
        'protocol-is-pure: src/protocol/reads-file.ts -> fs',
        'protocol-is-pure: src/protocol/via-train.ts -> npm:@tensorflow/tfjs',
        'resolvable: src/bench/unresolved.ts -> ./missing.ts',
        'sim-has-no-network: src/sim/uses-node.ts -> src/node/daemon.ts',
        'train-stays-below-node: src/train/uses-node.ts -> src/node/daemon.ts',
      ],
      `got:\n${format(findings)}`,
    );
  });
});
