import { strict as assert } from 'node:assert';
import { DATA_SCHEMA_FLAGS, dataSchemaArgs, parseDataSchemaFlags } from '../../src/cli/data-flags.ts';
import { parseSimulateOptions } from '../../src/cli/simulate-options.ts';
import { parseTrainOptions, trainHelp } from '../../src/cli/train-options.ts';
import { CliUsageError } from '../../src/cli/usage-error.ts';

function refused(run: () => unknown, message: string): void {
  assert.throws(run, (err: unknown) => err instanceof CliUsageError && err.message === message);
}

describe('data schema flags (--classes, --csv-delimiter, --normalization, --test-data)', () => {
  it('become the DataOptions loadDataset takes', () => {
    assert.deepEqual(parseDataSchemaFlags('simulate', { classes: ' cat, dog ,fish', 'csv-delimiter': 'tab', normalization: 'stats.json', 'test-data': 'csv:test.csv' }), {
      classes: ['cat', 'dog', 'fish'],
      csvDelimiter: '\t',
      normalization: 'stats.json',
      testData: 'csv:test.csv',
    });
    assert.deepEqual(parseDataSchemaFlags('simulate', {}), { classes: null, csvDelimiter: null, normalization: null, testData: null });
  });

  it('refuse a bad value in one line naming the command and the flag', () => {
    refused(() => parseDataSchemaFlags('bench:poison', { classes: 'cat' }), "bench:poison: --classes: name at least 2 classes, comma separated, in index order (got 'cat')");
    refused(() => parseDataSchemaFlags('bench:poison', { classes: 'cat,dog,cat' }), "bench:poison: --classes: a class is named twice (got 'cat,dog,cat')");
    refused(() => parseDataSchemaFlags('simulate', { 'csv-delimiter': ';;' }), "simulate: --csv-delimiter: ';;' is not one character (e.g. ',' or ';' or tab)");
    refused(() => parseDataSchemaFlags('simulate', { normalization: '' }), "simulate: --normalization: must not be empty (got '')");
    refused(
      () => parseDataSchemaFlags('simulate', { 'test-data': 'tsv:test.tsv' }),
      "simulate: --test-data: unknown data spec 'tsv:test.tsv' (expected mnist | fashion-mnist[:DIR] | csv:PATH | images:DIR)",
    );
  });

  it('are the same code in train and simulate: same values, same refusals', () => {
    const argv = ['--classes', 'a,b,c', '--csv-delimiter', ';', '--normalization', 'n.json', '--test-data', 'csv:t.csv'];
    const simulated = parseSimulateOptions(argv);
    assert.equal(simulated.kind, 'ok');
    assert.deepEqual(simulated.kind === 'ok' ? simulated.options.dataOptions : null, parseTrainOptions(argv).dataOptions);
    refused(() => parseTrainOptions(['--classes', 'a']), "train: --classes: name at least 2 classes, comma separated, in index order (got 'a')");
    refused(() => parseSimulateOptions(['--classes', 'a']), "simulate: --classes: name at least 2 classes, comma separated, in index order (got 'a')");
  });

  it('are listed in train --help and simulate --help with what applies without them', () => {
    const simulateHelp = parseSimulateOptions(['--help']);
    for (const text of [trainHelp(), simulateHelp.kind === 'help' ? simulateHelp.text : '']) {
      for (const { flag, value, shown } of DATA_SCHEMA_FLAGS) assert.match(text, new RegExp(`^ {2}--${flag} ${value} +.*\\(default: ${shown}\\)$`, 'm'), flag);
    }
  });

  it('go back to arguments for a child process, in table order', () => {
    assert.deepEqual(dataSchemaArgs({ 'test-data': 'csv:t.csv', classes: 'a,b' }), ['--classes', 'a,b', '--test-data', 'csv:t.csv']);
  });
});
