import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateDaemonConfig } from '../../src/node/config.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { DistillJoinerService } from '../../src/node/distill-joiner.ts';
import { DistillTeacherService } from '../../src/node/distill-teacher.ts';
import { agentVersion, parseAgentVersion } from '../../src/node/peer-identity.ts';

const HASH = 'ab'.repeat(32);

describe('peer identity (swarm and model in the identify agent version)', () => {
  it('round-trips our agent version and ignores anything else', () => {
    const text = agentVersion({ version: '0.1.0', swarm: 'cluster-1', modelHash: HASH });
    assert.equal(text, `gossip-learn/0.1.0 (swarm=cluster-1; model=${HASH})`);
    assert.deepEqual(parseAgentVersion(text), { version: '0.1.0', swarm: 'cluster-1', modelHash: HASH });
    for (const other of [undefined, '', 'js-libp2p/3.3.11 UserAgent=v24.21.0', `gossip-learn/0.1.0 (swarm=a b; model=${HASH})`, 'gossip-learn/0.1.0 (swarm=a; model=XYZ)']) {
      assert.equal(parseAgentVersion(other), null, String(other));
    }
  });

  describe('two daemons of different swarms on 127.0.0.1', function () {
    this.timeout(60_000);
    let root: string;
    const daemons: Daemon[] = [];
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'gl-identity-'));
    });
    after(async () => {
      await Promise.all(daemons.map((d) => d.stop(1000)));
      await rm(root, { recursive: true, force: true });
    });

    it('says so in one log line naming both swarms and counts the peer in peers.otherSwarm', async () => {
      const lines: string[] = [];
      // A deadline far beyond the test's timeout: a join that waited for it would fail the test.
      const joiner = new DistillJoinerService({ deadlineMs: 600_000 });
      const make = (name: string, swarm: string, bootstrap: string[]): Daemon => {
        // B joins (distill on, a short announce interval so its grace is 1.2 s): it must not wait its deadline for A.
        const config = validateDaemonConfig({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, swarm, data: 'mnist', model: 'mlp-small', stateDir: join(root, name), metricsPort: 0, distill: bootstrap.length > 0, announceIntervalMs: 200, stepsPerInterval: 0, logLevel: 'warn' });
        const daemon = new Daemon({
          config,
          logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
          ...(bootstrap.length > 0 ? { joinServices: [new DistillTeacherService(), joiner] } : {}),
        });
        daemons.push(daemon);
        return daemon;
      };
      const a = make('a', 'cluster-1', []);
      const infoA = await a.start();
      const b = make('b', 'default', infoA.addresses);
      await b.start();
      assert.deepEqual(joiner.outcome, { status: 'cold', reason: 'other-swarm-peers' });
      const deadline = Date.now() + 30_000;
      while (b.metrics.toJson().peers.otherSwarm !== 1) {
        if (Date.now() > deadline) throw new Error(`peers.otherSwarm stayed ${b.metrics.toJson().peers.otherSwarm}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(a.metrics.toJson().peers.otherSwarm, 1);
      assert.equal(b.metrics.toJson().peers.known, 0);
      const warning = lines.map((l) => JSON.parse(l) as { msg: string; peerSwarm?: string; swarm?: string }).find((l) => l.peerSwarm === 'cluster-1');
      assert.ok(warning, lines.join('\n'));
      assert.equal(warning.swarm, 'default');
      assert.match(warning.msg, /is in swarm 'cluster-1', we are in swarm 'default': it will never exchange with us \(start with --swarm cluster-1 to join its swarm\)$/);
    });
  });
});
