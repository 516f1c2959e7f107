import { strict as assert } from 'node:assert';
import { readScriptArgs, scriptHelp, scriptNumberProblem, type ScriptOption, type ScriptSpec } from '../../src/cli/script-args.ts';

const spec = {
  name: 'bench:demo',
  usage: 'npm run bench:demo -- [options]',
  summary: 'Measures the demo.',
  options: {
    seconds: { type: 'string', default: '8', arg: 'S', help: 'run time' },
    'daemon-arg': { type: 'string', multiple: true, default: [], arg: 'FLAG', help: 'extra daemon flag' },
    json: { type: 'string', arg: 'FILE', help: 'write JSON here' },
    quiet: { type: 'boolean', help: 'less output' },
  },
} satisfies ScriptSpec<Record<string, ScriptOption>>;

describe('script args (bench:* / fuzz:* flags)', () => {
  it('returns defaults, given values and positionals', () => {
    const result = readScriptArgs({ ...spec, allowPositionals: true }, ['--json', 'out.json', '--daemon-arg=--seed=2', '--', '--codec', 'f32']);
    assert.equal(result.kind, 'ok');
    if (result.kind !== 'ok') return;
    assert.deepEqual({ ...result.values }, { seconds: '8', 'daemon-arg': ['--seed=2'], json: 'out.json' });
    assert.deepEqual(result.positionals, ['--codec', 'f32']);
  });

  it('answers --help and -h with every option and its default', () => {
    for (const flag of ['--help', '-h']) {
      const result = readScriptArgs(spec, ['--seconds', '1', flag]);
      assert.equal(result.kind, 'help');
      if (result.kind !== 'help') return;
      assert.equal(result.text, scriptHelp(spec));
    }
    assert.equal(
      scriptHelp(spec),
      [
        'Usage: npm run bench:demo -- [options]',
        '',
        'Measures the demo.',
        '',
        'Options:',
        '  --seconds S        run time (default: 8)',
        '  --daemon-arg FLAG  extra daemon flag (repeatable) (default: none)',
        '  --json FILE        write JSON here (default: none)',
        '  --quiet            less output (default: off)',
        '  -h, --help         show this help',
      ].join('\n'),
    );
  });

  it('turns a bad flag into one line naming the script', () => {
    const hint = '`npm run bench:demo -- --help` lists the options';
    assert.deepEqual(readScriptArgs(spec, ['--bogus']), { kind: 'error', message: `bench:demo: unknown option '--bogus'; ${hint}` });
    assert.deepEqual(readScriptArgs(spec, ['--second', '3']), { kind: 'error', message: `bench:demo: unknown option '--second' (did you mean --seconds?); ${hint}` });
    assert.deepEqual(readScriptArgs(spec, ['--json']), { kind: 'error', message: `bench:demo: option --json needs a value; ${hint}` });
    assert.deepEqual(readScriptArgs(spec, ['extra']), { kind: 'error', message: `bench:demo: unexpected argument 'extra' (options start with --); ${hint}` });
  });

  it('checks numbers and says what they must be', () => {
    assert.equal(scriptNumberProblem('3', { integer: true, min: 1 }), null);
    assert.equal(scriptNumberProblem('0.5', { positive: true }), null);
    assert.equal(scriptNumberProblem('1.5', { integer: true, min: 1 }), 'an integer >= 1');
    assert.equal(scriptNumberProblem('0', { integer: true, min: 1 }), 'an integer >= 1');
    assert.equal(scriptNumberProblem('', {}), 'a number');
    assert.equal(scriptNumberProblem('abc', {}), 'a number');
    assert.equal(scriptNumberProblem('0', { positive: true }), 'a positive number');
    assert.equal(scriptNumberProblem('-2', { integer: true, positive: true }), 'a positive integer');
  });
});
