import assert from 'node:assert/strict';
import { classicEpsilon, gaussianRdp, noiseMultiplierFor, RDP_ORDERS, RdpAccountant, rdpToEpsilon } from '../../src/core/rdp-accountant.ts';

/** Standard normal CDF through erfc (Numerical Recipes' erfcc: fractional error under 1.2e-7 everywhere). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * The exact delta of the Gaussian mechanism at epsilon (Balle and Wang 2018, Theorem 8), sensitivity 1 and
 * noise sigma; T releases with the same sigma compose exactly into one with sigma / sqrt(T) (Dong, Roth and Su 2019, Gaussian DP).
 */
function exactDelta(epsilon: number, sigma: number, releases: number): number {
  const s = sigma / Math.sqrt(releases);
  return normalCdf(1 / (2 * s) - epsilon * s) - Math.exp(epsilon) * normalCdf(-1 / (2 * s) - epsilon * s);
}

describe('RdpAccountant (Renyi DP of the Gaussian mechanism)', () => {
  it('charges alpha / (2 z^2) per release at every order (Mironov 2017, Table 2) and composes by adding', () => {
    assert.equal(gaussianRdp(2, 1), 1);
    assert.equal(gaussianRdp(10, 2), 1.25);
    const a = new RdpAccountant();
    a.addGaussian(2, 3);
    a.addGaussian(4);
    const ledger = a.ledger();
    assert.equal(ledger.releases, 4);
    RDP_ORDERS.forEach((alpha, i) => assert.ok(Math.abs(ledger.rdp[i]! - (3 * alpha / 8 + alpha / 32)) < 1e-9 * alpha));
  });

  it('converts with the closed form at one order, never above Mironov Prop. 3', () => {
    // alpha = 2, rdp = 1, delta = e^-10: 1 + log(1/2) - (-10 + log 2) / 1 = 11 - 2 log 2.
    assert.ok(Math.abs(rdpToEpsilon(1, 2, Math.exp(-10)) - (11 - 2 * Math.LN2)) < 1e-12);
    assert.ok(Math.abs(classicEpsilon(1, 2, Math.exp(-10)) - 11) < 1e-12);
    for (const alpha of RDP_ORDERS) assert.ok(rdpToEpsilon(0.5, alpha, 1e-5) <= classicEpsilon(0.5, alpha, 1e-5));
  });

  it('matches the continuous optimum of Mironov Prop. 3 for T releases: T/(2z^2) + 2 sqrt(T log(1/delta) / (2z^2))', () => {
    for (const [z, releases] of [[1, 10], [4, 100], [20, 300]] as const) {
      const rho = releases / (2 * z * z);
      const closed = rho + 2 * Math.sqrt(rho * Math.log(1e5));
      const grid = Math.min(...RDP_ORDERS.map((alpha) => classicEpsilon(releases * gaussianRdp(alpha, z), alpha, 1e-5)));
      assert.ok(grid >= closed - 1e-9 && grid <= closed * 1.02, `z ${z}, T ${releases}: grid ${grid}, closed form ${closed}`);
      const a = new RdpAccountant();
      a.addGaussian(z, releases);
      assert.ok(a.epsilon(1e-5) <= grid);
    }
  });

  it('is sound and tight against the exact epsilon of the Gaussian mechanism (Balle and Wang 2018)', () => {
    for (const [z, releases] of [[1, 1], [4.845, 1], [2, 50], [10, 400], [30, 48]] as const) {
      const a = new RdpAccountant();
      a.addGaussian(z, releases);
      const epsilon = a.epsilon(1e-5);
      assert.ok(exactDelta(epsilon, z, releases) <= 1e-5, `z ${z}, T ${releases}: epsilon ${epsilon} is not (epsilon, 1e-5)-DP`);
      // Not far above the truth: at 80% of our epsilon the exact delta is already larger than 1e-5.
      assert.ok(exactDelta(0.8 * epsilon, z, releases) > 1e-5, `z ${z}, T ${releases}: epsilon ${epsilon} is loose`);
    }
  });

  it("gives epsilon <= 1 at the classic calibration z = sqrt(2 ln(1.25/delta)) (Dwork and Roth 2014, Theorem A.1)", () => {
    const a = new RdpAccountant();
    a.addGaussian(Math.sqrt(2 * Math.log(1.25 / 1e-5)));
    const epsilon = a.epsilon(1e-5);
    assert.ok(epsilon > 0.6 && epsilon <= 1, `epsilon ${epsilon}`);
  });

  it('only grows: every release raises epsilon, epsilonAfter spends nothing, and 0 before any release', () => {
    const a = new RdpAccountant();
    assert.equal(a.epsilon(1e-5), 0);
    let last = 0;
    for (let i = 0; i < 200; i++) {
      const preview = a.epsilonAfter(3, 1e-5);
      assert.equal(a.releases, i);
      a.addGaussian(3);
      const now = a.epsilon(1e-5);
      assert.ok(now > last, `release ${i + 1}: ${now} after ${last}`);
      assert.equal(now, preview);
      last = now;
    }
  });

  it('restores a ledger and refuses one that does not fit', () => {
    const a = new RdpAccountant();
    a.addGaussian(2, 7);
    const b = new RdpAccountant(a.ledger());
    assert.equal(b.releases, 7);
    assert.equal(b.epsilon(1e-5), a.epsilon(1e-5));
    assert.throws(() => new RdpAccountant({ releases: 1, rdp: [1, 2] }), { name: 'RangeError', message: 'privacy ledger does not match the accountant (orders or values)' });
    assert.throws(() => a.epsilon(0), { name: 'RangeError', message: 'delta must be in (0, 1), got 0' });
  });

  it('noiseMultiplierFor finds the smallest z that keeps T releases within epsilon', () => {
    for (const [epsilon, releases] of [[1, 48], [8, 375], [4, 10]] as const) {
      const z = noiseMultiplierFor({ epsilon, delta: 1e-5, releases });
      assert.ok(new RdpAccountant().epsilonAfter(z, 1e-5, releases) <= epsilon);
      assert.ok(new RdpAccountant().epsilonAfter(z * 0.99, 1e-5, releases) > epsilon);
    }
  });
});
