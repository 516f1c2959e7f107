/**
 * The chart library the dashboard pages inline: uPlot (npm `uplot`, a runtime
 * dependency), read from wherever Node resolves the package (a checkout's
 * node_modules or an installed package's), so the pages need no CDN, no
 * build step and no internet.
 *
 *   const { js, css } = uplotAssets();   // read once, then cached
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ChartAssets {
  /** uPlot's browser build (defines the global `uPlot`). */
  js: string;
  css: string;
}

let cached: ChartAssets | null = null;

/** uPlot's minified browser script and stylesheet; throws the resolver's error when the package is missing. */
export function uplotAssets(): ChartAssets {
  if (cached !== null) return cached;
  const require = createRequire(import.meta.url);
  const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  cached = { js, css };
  return cached;
}

/** Text safe inside an inline <script> or <style> element (no early `</script>` or `</style>`). */
export function inlineSafe(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1');
}
