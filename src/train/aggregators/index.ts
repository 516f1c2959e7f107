/**
 * Aggregators by name: the registry the daemon, the simulator and the
 * benchmarks pick merge rules from.
 *
 *   const aggregator = createAggregator('choco', { gamma: 0.5 });
 *   AGGREGATOR_NAMES   // ['average', 'choco', 'clip', 'centered-clip', 'trimmed-mean', 'median']
 */
import { MergeError, type MergeOptions } from '../merge.ts';
import type { Aggregator } from './aggregator.ts';
import { AverageAggregator } from './average.ts';
import { CenteredClipAggregator } from './centered-clip.ts';
import { ChocoAggregator } from './choco.ts';
import { NormClipAggregator } from './clip.ts';
import { MedianAggregator } from './median.ts';
import { TrimmedMeanAggregator } from './trimmed-mean.ts';

export type { Aggregation, Aggregator, LocalContribution, PeerContribution } from './aggregator.ts';
export { AverageAggregator } from './average.ts';
export { ChocoAggregator } from './choco.ts';
export { NormClipAggregator } from './clip.ts';
export { CenteredClipAggregator } from './centered-clip.ts';
export { TrimmedMeanAggregator } from './trimmed-mean.ts';
export { MedianAggregator } from './median.ts';

export const AGGREGATOR_NAMES = ['average', 'choco', 'clip', 'centered-clip', 'trimmed-mean', 'median'] as const;
export type AggregatorName = (typeof AGGREGATOR_NAMES)[number];
/** The plain capped average: measured best with the default codec (see DEFAULT_MERGE_OPTIONS in src/train/merge.ts). */
export const DEFAULT_AGGREGATOR: AggregatorName = 'average';

export function isAggregatorName(name: string): name is AggregatorName {
  return (AGGREGATOR_NAMES as readonly string[]).includes(name);
}

/** Builds a registry aggregator. Throws MergeError('bad-options') for an unknown name or bad options. */
export function createAggregator(name: string, options: Partial<MergeOptions> = {}): Aggregator {
  switch (name) {
    case 'average':
      return new AverageAggregator(options);
    case 'choco':
      return new ChocoAggregator(options);
    case 'clip':
      return new NormClipAggregator(options);
    case 'centered-clip':
      return new CenteredClipAggregator(options);
    case 'trimmed-mean':
      return new TrimmedMeanAggregator(options);
    case 'median':
      return new MedianAggregator(options);
    default:
      throw new MergeError('bad-options', `unknown aggregator ${JSON.stringify(name)}; known: ${AGGREGATOR_NAMES.join(', ')}`);
  }
}
