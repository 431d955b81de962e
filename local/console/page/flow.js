/**
 * The Flow view: each event source mapping (lag per partition, throughput,
 * in-flight batches), each function's counts and durations, and a chart of
 * the last minutes of lag and records/s drawn from a ring of the `flow`
 * events this page received.
 */
import { byId, count, duration, fill, h, svg } from './dom.js';

/**
 * @typedef {object} Partition
 * @property {number} partition
 * @property {string | null} committed
 * @property {string} end
 * @property {number} lag
 *
 * @typedef {object} Mapping
 * @property {string} id
 * @property {string} name
 * @property {string} topic
 * @property {string} function
 * @property {number} batchSize
 * @property {number} windowSeconds
 * @property {number} recordsPerSecond
 * @property {number} inFlight
 * @property {number} invocations
 * @property {Partition[]} partitions
 * @property {number} lag
 *
 * @typedef {object} FunctionStats
 * @property {string} name
 * @property {number} invocations
 * @property {number} errors
 * @property {number} timeouts
 * @property {number} coldStarts
 * @property {number | null} p50Ms
 * @property {number | null} p99Ms
 *
 * @typedef {{ mappings: Mapping[], functions: FunctionStats[], at: string }} Flow
 *
 * @typedef {{ t: number, values: Map<string, { lag: number, rps: number }> }} Sample
 */

/** How far back the chart looks. */
const WINDOW_MS = 5 * 60_000;
/** Samples kept: the server sends at most one a second. */
const RING_SIZE = 600;
const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#059669',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#475569',
  '#ea580c',
  '#4f46e5',
  '#0d9488',
];

/** @type {Sample[]} */
const ring = [];
/** Color per mapping id, stable for the page's life. */
const colors = new Map();
/** @type {Flow | null} */
let latest = null;

/**
 * Takes one flow body (the first fetch or an SSE `flow` event): keeps it in the
 * ring and redraws the view.
 *
 * @param {Flow} flow
 */
export function showFlow(flow) {
  latest = flow;
  const t = Date.parse(flow.at) || Date.now();
  const last = ring.at(-1);
  if (!last || t > last.t) {
    ring.push({
      t,
      values: new Map(
        flow.mappings.map((m) => [
          m.id,
          { lag: m.lag, rps: m.recordsPerSecond },
        ]),
      ),
    });
  }
  while (ring.length > RING_SIZE || (ring[0] && ring[0].t < t - WINDOW_MS)) {
    ring.shift();
  }
  for (const mapping of flow.mappings) {
    if (!colors.has(mapping.id)) {
      colors.set(mapping.id, PALETTE[colors.size % PALETTE.length]);
    }
  }
  byId('flow-at').textContent =
    `as of ${new Date(t).toLocaleTimeString(undefined, { hour12: false })}`;
  renderMappings(flow.mappings);
  renderFunctions(flow.functions);
  renderChart(flow.mappings, t);
}

/**
 * The topics the mappings read that are not dead-letter topics: the choices of
 * the dead-letter view's topic filter.
 *
 * @returns {string[]}
 */
export function sourceTopics() {
  if (!latest) return [];
  return [...new Set(latest.mappings.map((m) => m.topic))]
    .filter((topic) => !topic.endsWith('.dead-letter'))
    .sort();
}

/** @param {Mapping[]} mappings */
function renderMappings(mappings) {
  const body = /** @type {HTMLElement} */ (
    byId('flow-mappings').querySelector('tbody')
  );
  fill(
    body,
    mappings.map((m) =>
      h(
        'tr',
        {
          testid: 'mapping-row',
          'data-topic': m.topic,
          'data-function': m.function,
        },
        h(
          'th',
          { scope: 'row' },
          h('span', {
            class: 'swatch',
            style: `background:${colors.get(m.id)}`,
            'aria-hidden': 'true',
          }),
          h('span', { class: 'mono' }, m.topic),
          ' → ',
          h('strong', {}, m.function),
        ),
        h('td', { class: 'num' }, count(m.batchSize)),
        h('td', { class: 'num' }, `${count(m.windowSeconds)} s`),
        h('td', { class: 'num' }, count(m.recordsPerSecond, 1)),
        h('td', { class: 'num' }, count(m.inFlight)),
        h('td', { class: 'num' }, count(m.invocations)),
        h(
          'td',
          {},
          h(
            'ul',
            { class: 'partitions' },
            m.partitions.map((p) =>
              h(
                'li',
                { class: p.lag > 0 ? 'lagging' : null },
                h('span', { class: 'muted' }, `p${p.partition} `),
                h(
                  'span',
                  { class: 'mono' },
                  `${p.committed ?? '-'} / ${p.end} / ${count(p.lag)}`,
                ),
              ),
            ),
          ),
        ),
        h(
          'td',
          {
            class: `num${m.lag > 0 ? ' lagging' : ''}`,
            testid: 'mapping-lag',
          },
          count(m.lag),
        ),
      ),
    ),
  );
}

/** @param {FunctionStats[]} functions */
function renderFunctions(functions) {
  const body = /** @type {HTMLElement} */ (
    byId('flow-functions').querySelector('tbody')
  );
  fill(
    body,
    functions.map((f) =>
      h(
        'tr',
        { testid: 'function-row', 'data-function': f.name },
        h('th', { scope: 'row' }, f.name),
        h('td', { class: 'num' }, count(f.invocations)),
        h('td', { class: `num${f.errors > 0 ? ' bad' : ''}` }, count(f.errors)),
        h(
          'td',
          { class: `num${f.timeouts > 0 ? ' bad' : ''}` },
          count(f.timeouts),
        ),
        h('td', { class: 'num' }, count(f.coldStarts)),
        h('td', { class: 'num' }, duration(f.p50Ms)),
        h('td', { class: 'num' }, duration(f.p99Ms)),
      ),
    ),
  );
}

const WIDTH = 960;
const PANEL = 110;
const GAP = 34;
const LEFT = 48;

/**
 * Two panels over the last five minutes: lag (top) and records/s (bottom),
 * one line per mapping that had any of either in the window.
 *
 * @param {Mapping[]} mappings
 * @param {number} now
 */
function renderChart(mappings, now) {
  const active = mappings.filter((m) =>
    ring.some((s) => {
      const v = s.values.get(m.id);
      return v !== undefined && (v.lag > 0 || v.rps > 0);
    }),
  );
  const height = GAP + PANEL + GAP + PANEL + 20;
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': 'Lag and records per second per mapping, last 5 minutes',
    'data-testid': 'lag-chart',
  });
  const x = (/** @type {number} */ t) =>
    LEFT + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (WIDTH - LEFT - 8);
  /** @type {['lag' | 'rps', string, number][]} */
  const panels = [
    ['lag', 'lag (records)', GAP],
    ['rps', 'records/s', GAP + PANEL + GAP],
  ];
  for (const [metric, label, top] of panels) {
    drawPanel(chart, active, { metric, label, top }, x);
  }
  const bottom = GAP + PANEL + GAP + PANEL + 16;
  for (const [t, text] of [
    [now - WINDOW_MS, '-5 min'],
    [now - WINDOW_MS / 2, '-2.5 min'],
    [now, 'now'],
  ]) {
    chart.append(
      svg(
        'text',
        {
          x: x(/** @type {number} */ (t)),
          y: bottom,
          class: 'tick',
          'text-anchor': t === now ? 'end' : 'middle',
        },
        String(text),
      ),
    );
  }
  if (active.length === 0) {
    chart.append(
      svg(
        'text',
        {
          x: WIDTH / 2,
          y: height / 2,
          class: 'label',
          'text-anchor': 'middle',
        },
        'No lag and no records in the last 5 minutes',
      ),
    );
  }
  fill(
    byId('lag-chart-box'),
    chart,
    h(
      'ul',
      { class: 'legend' },
      active.map((m) =>
        h(
          'li',
          {},
          h('span', {
            class: 'swatch',
            style: `background:${colors.get(m.id)}`,
            'aria-hidden': 'true',
          }),
          m.name,
        ),
      ),
    ),
  );
}

/**
 * One panel of the chart: its label, scale and axis, and a line per mapping of
 * `metric` over the samples in the ring.
 *
 * @param {SVGElement} chart
 * @param {Mapping[]} active
 * @param {{ metric: 'lag' | 'rps', label: string, top: number }} panel
 * @param {(t: number) => number} x
 */
function drawPanel(chart, active, { metric, label, top }, x) {
  let max = 1;
  for (const sample of ring) {
    for (const m of active) {
      max = Math.max(max, sample.values.get(m.id)?.[metric] ?? 0);
    }
  }
  const y = (/** @type {number} */ v) => top + PANEL - (v / max) * PANEL;
  chart.append(
    svg('text', { x: LEFT, y: top - 8, class: 'label' }, label),
    svg(
      'text',
      { x: LEFT - 6, y: top + 4, class: 'tick', 'text-anchor': 'end' },
      count(max, metric === 'rps' && max < 10 ? 1 : 0),
    ),
    svg(
      'text',
      { x: LEFT - 6, y: top + PANEL, class: 'tick', 'text-anchor': 'end' },
      '0',
    ),
    svg('line', {
      x1: LEFT,
      x2: WIDTH - 8,
      y1: top + PANEL,
      y2: top + PANEL,
      class: 'axis',
    }),
    svg('line', {
      x1: LEFT,
      x2: WIDTH - 8,
      y1: top,
      y2: top,
      class: 'grid',
    }),
  );
  for (const m of active) {
    const points = ring
      .filter((s) => s.values.has(m.id))
      .map((s) => {
        const v = s.values.get(m.id)?.[metric] ?? 0;
        return `${x(s.t).toFixed(1)},${y(v).toFixed(1)}`;
      });
    if (points.length === 0) continue;
    const line = svg('polyline', {
      points: points.join(' '),
      fill: 'none',
      stroke: colors.get(m.id),
      'stroke-width': 2,
      'stroke-linejoin': 'round',
    });
    line.append(svg('title', {}, m.name));
    chart.append(line);
  }
}
