// bench/browser --svg: every cold start of each build (dist/, and --against's) is drawn, with
// its row's median and the cold-start bar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coldStartSvg } from '../../bench/cold-chart.mjs';

test('the cold-start chart draws every sample, each median and the bar', () => {
  const svg = coldStartSvg([
    { label: 'dist/', samples: [180, 200, 220], median: 200 },
    { label: 'dist-before <&>/', samples: [240, 260, 420, 250], median: 255 },
  ], 'Demo cold start', 'subtitle');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<circle /g).length, 7);
  assert.match(svg, />median 200</);
  assert.match(svg, />median 255</);
  assert.match(svg, />bar 250 ms</);
  // Labels are escaped, and the axis reaches past the slowest sample (420 ms).
  assert.match(svg, /dist-before &lt;&amp;&gt;\//);
  assert.match(svg, />450<\/text>/);
  assert.doesNotMatch(svg, />500<\/text>/);
});
