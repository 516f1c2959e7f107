import { strict as assert } from 'node:assert';
import { NodeEvents, type NodeEventName } from '../../src/node/node-events.ts';

describe('NodeEvents', () => {
  it('calls every listener, reports one that throws without stopping the others, and honours once and off', () => {
    const thrown: Array<[NodeEventName, string]> = [];
    const events = new NodeEvents((event, err) => thrown.push([event, (err as Error).message]));
    const seen: string[] = [];
    const second = (e: { peer: string }): void => void seen.push(`second ${e.peer}`);
    events.on('merge', () => {
      throw new Error('listener bug');
    });
    events.on('merge', second);
    events.once('merge', (e) => void seen.push(`once ${e.merged}`));
    assert.equal(events.emit('merge', { peer: 'p1', merged: 1 }), true);
    events.off('merge', second);
    events.emit('merge', { peer: 'p2', merged: 2 });
    assert.deepEqual(seen, ['second p1', 'once 1']);
    assert.deepEqual(thrown, [['merge', 'listener bug'], ['merge', 'listener bug']]);
    assert.equal(events.emit('evaluation', { accuracy: 1, loss: 0, age: 1, at: 'now', testSet: null }), false);
  });
});
