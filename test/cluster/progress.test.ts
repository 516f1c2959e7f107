import { strict as assert } from 'node:assert';
import { formatHeader, formatRow, PlainProgress, TtyProgress, type NodeRow } from '../../src/cluster/progress.ts';
import type { NodeSample } from '../../src/cluster/results.ts';

const sample: NodeSample = {
  t: 10, accuracy: 0.8123, loss: 0.6, evalT: 9, age: 420, samplesSeen: 13440, peers: 3,
  exchanges: 17, merged: 9, bytesSent: 2048, bytesReceived: 3 * 1024 * 1024,
};
const rows: NodeRow[] = [
  { name: 'node-0', status: 'up', sample },
  { name: 'node-1', status: 'waiting', sample: null },
];

/** Collects what a TtyProgress writes; enough of a WriteStream for it. */
function fakeTerminal(columns = 200): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = { columns, write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe('cluster progress', () => {
  it('formats one line per node with accuracy, age, peers, exchanges and bytes', () => {
    const line = formatRow(rows[0] as NodeRow);
    assert.match(line, /^node-0\s+up\s+acc\s+81\.2%\s+age\s+420\s+peers\s+3\s+exch\s+17\s+sent\s+2\.0 KiB\s+recv\s+3\.0 MiB$/);
    assert.match(formatRow(rows[1] as NodeRow), /^node-1\s+waiting\s+acc\s+–\s+age\s+–/);
  });

  it('heads the block with time, nodes up and the mean accuracy', () => {
    assert.equal(formatHeader(12.7, '108 s left', rows), 'gossip-learn cluster  12 s (108 s left)  1/2 up  mean accuracy 81.2%');
  });

  it('redraws in place on a terminal: cursor up over the previous block', () => {
    const term = fakeTerminal();
    const progress = new TtyProgress(term.stream);
    progress.update(1, rows, 'starting');
    assert.ok(!term.text().includes('\x1b['), 'nothing to erase the first time');
    progress.update(2, rows, '60 s left');
    assert.ok(term.text().includes('\x1b[3A\x1b[0J'), 'moves up over header + 2 rows and clears');
    progress.event('node-1 kill');
    assert.match(term.text(), /\x1b\[3A\x1b\[0Jnode-1 kill\ngossip-learn cluster/);
  });

  it('cuts lines to the terminal width so the cursor arithmetic holds', () => {
    const term = fakeTerminal(30);
    new TtyProgress(term.stream).update(1, rows, 'starting');
    for (const line of term.text().split('\n')) assert.ok(line.length <= 29, line);
  });

  it('prints plain blocks no more often than asked, events at once, and always the final block', () => {
    const lines: string[] = [];
    const progress = new PlainProgress((l) => lines.push(l), 10);
    progress.update(0, rows, 'starting');
    progress.update(5, rows, '60 s left');
    progress.event('node-1 start');
    progress.update(10, rows, '55 s left');
    progress.update(11, rows, 'done');
    assert.equal(lines.length, 3 + 1 + 3 + 3);
    assert.equal(lines[3], 'node-1 start');
    assert.match(lines[7] as string, /^gossip-learn cluster {2}11 s \(done\)/);
    assert.ok(lines.every((l) => !l.includes('\x1b')));
  });
});
