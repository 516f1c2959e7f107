import { strict as assert } from 'node:assert';
import { parseArgs } from 'node:util';
import { abbreviates, closestName, describeArgsError, didYouMean, editDistance, toKebabCase } from '../../src/common/arg-errors.ts';

const HINT = '`x --help` lists the options';
const options = { seed: { type: 'string' }, 'state-dir': { type: 'string' }, 'batch-size': { type: 'string' }, mdns: { type: 'boolean' }, help: { type: 'boolean' } } as const;
const known = Object.keys(options);

/** The message describeArgsError makes of what parseArgs throws for `args`. */
function messageFor(args: string[]): string {
  try {
    parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    return describeArgsError(err, known, HINT);
  }
  throw new Error(`parseArgs accepted ${args.join(' ')}`);
}

describe('arg errors (did you mean, where the options are)', () => {
  it('measures edit distance with swaps of neighbours counting 1', () => {
    assert.equal(editDistance('seed', 'seed'), 0);
    assert.equal(editDistance('sede', 'seed'), 1);
    assert.equal(editDistance('sed', 'seed'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('finds the closest known name: same in kebab case, a unique prefix, or a near spelling; else none', () => {
    assert.equal(toKebabCase('stateDir'), 'state-dir');
    assert.equal(toKebabCase('STATE_DIR'), 'state-dir');
    assert.equal(closestName('--stateDir', known), 'state-dir');
    assert.equal(closestName('--state', known), 'state-dir');
    assert.equal(closestName('--state-dri', known), 'state-dir');
    assert.equal(closestName('--dir', known), 'state-dir');
    assert.equal(closestName('--size', known), 'batch-size');
    assert.equal(closestName('--batchsize=3', known), 'batch-size');
    assert.equal(closestName('--frobnicate', known), null);
    assert.equal(closestName('--s', known), null, 'two names start with s: no guess');
    assert.equal(didYouMean('--sede', known), ' (did you mean --seed?)');
    assert.equal(didYouMean('--colour', known), '');
  });

  it('suggests the only name the given text abbreviates (letters in order, same first letter)', () => {
    const aggregators = ['average', 'choco', 'clip', 'centered-clip', 'trimmed-mean', 'median'];
    assert.equal(abbreviates('avg', 'average'), true);
    assert.equal(abbreviates('avg', 'gravity'), false);
    assert.equal(abbreviates('a', 'average'), false, 'one letter is a prefix or nothing');
    assert.equal(closestName('avg', aggregators), 'average');
    assert.equal(closestName('Average', aggregators), 'average');
    assert.equal(closestName('tm', aggregators), 'trimmed-mean');
    assert.equal(closestName('med', aggregators), 'median');
    assert.equal(closestName('cc', aggregators), null, 'centered-clip and choco: no guess');
    assert.equal(didYouMean('--bsize', known), ' (did you mean --batch-size?)');
  });

  it('turns every parseArgs error into one line that ends with where the options are listed', () => {
    assert.equal(messageFor(['--sede', '1']), `unknown option '--sede' (did you mean --seed?); ${HINT}`);
    assert.equal(messageFor(['--frobnicate']), `unknown option '--frobnicate'; ${HINT}`);
    assert.equal(messageFor(['-x']), `unknown option '-x'; ${HINT}`);
    assert.equal(messageFor(['extra']), `unexpected argument 'extra' (options start with --); ${HINT}`);
    assert.equal(messageFor(['--seed']), `option --seed needs a value; ${HINT}`);
    assert.equal(messageFor(['--batch-size', '-4']), `option --batch-size needs a value (one that starts with a dash is written --batch-size=-...); ${HINT}`);
    assert.equal(messageFor(['--mdns=yes']), `option --mdns takes no value; ${HINT}`);
    assert.equal(describeArgsError(new Error('something else\nmore'), known, HINT), `something else; ${HINT}`);
  });
});
