import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { detectDelimiter, parseCsvDelimiter } from '../../../src/train/data/csv-delimiter.ts';
import { readCsvTable, UNLABELLED } from '../../../src/train/data/csv.ts';
import { DataError } from '../../../src/train/data/types.ts';
import { dataError } from '../../helpers/data-errors.ts';

const undeclared = { classes: null, delimiter: null };


describe('readCsvTable', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gossip-csv-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, text: string | Uint8Array): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('maps text labels through the declared classes, whatever subset a file holds', async () => {
    const classes = ['cat', 'dog', 'fish'];
    const a = await readCsvTable(await file('a.csv', 'x,label\n1,cat\n2,dog\n'), { classes, delimiter: null });
    const b = await readCsvTable(await file('b.csv', 'x,label\n3,dog\n4,fish\n'), { classes, delimiter: null });
    assert.deepEqual([...a.y], [0, 1]);
    assert.deepEqual([...b.y], [1, 2]);
    assert.equal(a.numClasses, 3);
    assert.equal(b.numClasses, 3);
  });

  it('accepts a file holding a single declared class', async () => {
    const table = await readCsvTable(await file('one.csv', '1,fish\n2,fish\n3,fish\n'), { classes: ['cat', 'dog', 'fish'], delimiter: null });
    assert.deepEqual([...table.y], [2, 2, 2]);
    assert.equal(table.numClasses, 3);
  });

  it('refuses a single integer class without --classes, with the hint', async () => {
    const path = await file('one-int.csv', '1,0\n2,0\n3,0\n');
    await assert.rejects(
      readCsvTable(path, undeclared),
      dataError('bad-label', `${path}: the label column 2 has a single class; declare all classes of the swarm with --classes NAME,NAME,... and a node may hold one`),
    );
  });

  it('names a file with a header and no rows below it as empty, with or without classes', async () => {
    const path = await file('header-only.csv', 'x,label\r\n');
    await assert.rejects(readCsvTable(path, undeclared), dataError('empty', `${path}: no rows below the header`));
    await assert.rejects(readCsvTable(path, { classes: ['cat', 'dog'], delimiter: null }), dataError('empty', `${path}: no rows below the header`));
  });

  it('reads an unlabelled file: every column a feature, every label UNLABELLED, a text cell named', async () => {
    const path = await file('unlabelled.csv', 'a;b\n1;2\n3;4\n5;6\n');
    const table = await readCsvTable(path, { classes: ['cat', 'dog'], delimiter: null, unlabelled: true });
    assert.deepEqual([table.featureNames, table.featureCount, table.count, [...table.x], [...table.y]], [['a', 'b'], 2, 3, [1, 2, 3, 4, 5, 6], [UNLABELLED, UNLABELLED, UNLABELLED]]);
    const labelled = await file('labelled.csv', 'a,label\n1,cat\n2,dog\n');
    await assert.rejects(
      readCsvTable(labelled, { classes: ['cat', 'dog'], delimiter: null, unlabelled: true }),
      dataError('bad-csv', `${labelled}: row 2, column 2 ('label'): 'cat' is not a number (without labels every column is a feature)`),
    );
  });

  it('reads integer labels as indices into the declared classes', async () => {
    const table = await readCsvTable(await file('int.csv', '1,2\n2,0\n'), { classes: ['cat', 'dog', 'fish'], delimiter: null });
    assert.deepEqual([...table.y], [2, 0]);
  });

  it('names file, row and value of a label outside the classes', async () => {
    const huge = await file('huge-label.csv', '1,0\n2,1\n3,2\n4,999999\n5,1\n');
    await assert.rejects(
      readCsvTable(huge, undeclared),
      dataError('bad-label', `${huge}: row 4: label '999999' is not below 1000, the most classes without --classes; declare the classes in index order with --classes NAME,NAME,...`),
    );
    await assert.rejects(readCsvTable(huge, { classes: ['a', 'b', 'c'], delimiter: null }), dataError('bad-label', `${huge}: row 4: label '999999' is not below the class count 3 (--classes a,b,c)`));
    const text = await file('undeclared-text.csv', 'x,label\n1,cat\n');
    await assert.rejects(
      readCsvTable(text, undeclared),
      dataError('bad-label', `${text}: row 2: label 'cat' is text: declare the classes in index order, the same on every node, with --classes NAME,NAME,... (e.g. --classes cat,...)`),
    );
    await assert.rejects(readCsvTable(text, { classes: ['dog', 'fish'], delimiter: null }), dataError('bad-label', `${text}: row 2: label 'cat' is not one of the declared classes (--classes dog,fish)`));
  });

  it('loads 200,000 integer-labelled rows (no spread of the labels onto the stack)', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(`${i % 7},${(i * 3) % 11},${i % 3}`);
    const table = await readCsvTable(await file('big.csv', lines.join('\n')), undeclared);
    assert.equal(table.count, 200_000);
    assert.equal(table.numClasses, 3);
    assert.equal(table.x[2 * 199_999 + 1], (199_999 * 3) % 11);
  });

  it('reads BOM, CRLF, a quoted cell with a line break and a trailing delimiter', async () => {
    const path = await file('excel.csv', '\uFEFF"x1","note",label,\r\n1.5,"2",0,\r\n"3","4",1,\r\n');
    const table = await readCsvTable(path, undeclared);
    assert.deepEqual(table.featureNames, ['x1', 'note']);
    assert.deepEqual([...table.x], [1.5, 2, 3, 4]);
    const multi = await file('multiline.csv', 'label,x\n"0",1\n1,"2"\n');
    assert.deepEqual([...(await readCsvTable(multi, undeclared)).y], [0, 1]);
    const broken = await file('quoted-break.csv', 'x,name,label\n1,2,"cat\nlong"\n3,4,dog\n');
    const withBreak = await readCsvTable(broken, { classes: ['cat\nlong', 'dog'], delimiter: null });
    assert.deepEqual([...withBreak.y], [0, 1]);
    assert.equal(withBreak.count, 2);
  });

  it('reads a gzipped file', async () => {
    const table = await readCsvTable(await file('z.csv.gz', gzipSync('1,0\n2,1\n')), undeclared);
    assert.deepEqual([...table.y], [0, 1]);
  });

  it('detects a semicolon file and names a decimal comma', async () => {
    const path = await file('semi.csv', 'x1;x2;label\n1,5;2;0\n3;4;1\n');
    await assert.rejects(
      readCsvTable(path, undeclared),
      dataError('bad-csv', `${path}: row 2, column 1 ('x1'): '1,5' is not a number; a decimal comma? write 1.5 (numbers use a decimal point)`),
    );
    const plain = await readCsvTable(await file('semi-ok.csv', 'x1;x2;label\n1.5;2;0\n3;4;1\n'), undeclared);
    assert.deepEqual([...plain.x], [1.5, 2, 3, 4]);
  });

  it('hints at another delimiter when a forced one finds a single column', async () => {
    const path = await file('forced.csv', 'x1;x2;label\n1;2;0\n3;4;1\n');
    await assert.rejects(
      readCsvTable(path, { classes: null, delimiter: ',' }),
      dataError('bad-csv', `${path}: need at least one feature column and a label column, found 1 column(s) separated by ','; the first line holds ';': try --csv-delimiter ';'`),
    );
  });

  it('names a non-numeric cell and a ragged row', async () => {
    const bad = await file('bad-cell.csv', 'x1,x2,label\n1,2,0\n3,abc,1\n');
    await assert.rejects(readCsvTable(bad, undeclared), dataError('bad-csv', `${bad}: row 3, column 2 ('x2'): 'abc' is not a number`));
    const ragged = await file('ragged.csv', '1,2,0\n3,4,1\n5,1\n');
    await assert.rejects(readCsvTable(ragged, undeclared), dataError('bad-csv', `${ragged}: row 3 has 2 cells, expected 3`));
  });

  it('turns a parse error into one line naming the file', async () => {
    const path = await file('unclosed.csv', 'x,label\n1,"0\n');
    await assert.rejects(readCsvTable(path, undeclared), (err: unknown) => {
      assert.ok(err instanceof DataError && err.reason === 'bad-csv');
      assert.ok(err.message.startsWith(`${path}: `));
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });
});

describe('detectDelimiter', () => {
  it('picks the delimiter that splits every line alike', () => {
    assert.equal(detectDelimiter('a,b,label\n1,2,0\n'), ',');
    assert.equal(detectDelimiter('a;b;label\n1,5;2,25;cat\n'), ';');
    assert.equal(detectDelimiter('1,5;2,25;cat\n3,5;4,75;dog\n'), ';');
    assert.equal(detectDelimiter('a\tb\tlabel\n1\t2\t0\n'), '\t');
    assert.equal(detectDelimiter('"3,5",4,1\n5,6,0\n'), ',');
    assert.equal(detectDelimiter('just one column\n'), ',');
  });

  it('ignores a cut-off last line of a sample', () => {
    assert.equal(detectDelimiter('a;b;c\n1;2;3\n4;5', false), ';');
  });
});

describe('parseCsvDelimiter', () => {
  it('takes one character or tab and refuses the rest', () => {
    assert.equal(parseCsvDelimiter(';'), ';');
    assert.equal(parseCsvDelimiter('tab'), '\t');
    assert.throws(() => parseCsvDelimiter(';;'), { message: "';;' is not one character (e.g. ',' or ';' or tab)" });
    assert.throws(() => parseCsvDelimiter('"'), { message: `'"' cannot separate cells` });
  });
});
