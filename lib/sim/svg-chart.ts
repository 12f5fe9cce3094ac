import type { SimulationResult, StageSeries } from './simulate.ts';

/**
 * Self-contained SVG charts of a run: one file per stage (depth, oldest age, in/out rate, concurrency and deferrals)
 * and one for the ingress. Plain SVG, no scripts or external fonts, so a browser or an image viewer shows them as is.
 */

/** One line of a panel. */
interface Line {
  readonly label: string;
  readonly values: readonly number[];
  readonly color: string;
  /** Drawn dashed (limits, SLOs). */
  readonly dashed?: boolean;
}

/** One panel: a title, a unit and lines over the shared time axis. */
interface Panel {
  readonly title: string;
  readonly lines: readonly Line[];
}

const WIDTH = 900;
const PANEL_HEIGHT = 170;
const MARGIN = { left: 70, right: 20, top: 28, bottom: 26 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
/** Points per line at most; longer series are reduced to the max of each bucket (peaks stay visible). */
const MAX_POINTS = 900;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function formatNumber(value: number): string {
  if (value >= 1_000_000) return `${round(value / 1_000_000)}M`;
  if (value >= 10_000) return `${round(value / 1000)}k`;
  return String(round(value));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function reduce(values: readonly number[], step: number): number[] {
  if (step <= 1) return [...values];
  const out: number[] = [];
  for (let start = 0; start < values.length; start += step) {
    let max = Number.NEGATIVE_INFINITY;
    for (let i = start; i < Math.min(values.length, start + step); i++) max = Math.max(max, values[i] ?? 0);
    out.push(max);
  }
  return out;
}

function panelSvg(panel: Panel, t: readonly number[], top: number): string {
  const step = Math.ceil(t.length / MAX_POINTS);
  const times = reduce(t, step);
  const lines = panel.lines.map((line) => ({ ...line, values: reduce(line.values, step) }));
  const innerWidth = WIDTH - MARGIN.left - MARGIN.right;
  const innerHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxT = Math.max(1, times.at(-1) ?? 1);
  const maxY = niceMax(Math.max(0, ...lines.flatMap((line) => line.values)));
  const x = (seconds: number) => MARGIN.left + (seconds / maxT) * innerWidth;
  const y = (value: number) => top + MARGIN.top + innerHeight - (value / maxY) * innerHeight;
  const parts: string[] = [
    `<text x="${MARGIN.left}" y="${top + 18}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${top + MARGIN.top}" width="${innerWidth}" height="${innerHeight}" fill="none" stroke="#ccc"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (maxY * i) / 4;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + innerWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(value) + 4}" font-size="10" text-anchor="end">${formatNumber(value)}</text>`,
    );
  }
  for (let i = 0; i <= 6; i++) {
    const seconds = (maxT * i) / 6;
    parts.push(
      `<text x="${x(seconds)}" y="${top + PANEL_HEIGHT - 8}" font-size="10" text-anchor="middle">${formatNumber(seconds)} s</text>`,
    );
  }
  let legendX = MARGIN.left + 260;
  for (const line of lines) {
    const points = line.values.map((value, index) => `${round(x(times[index] ?? 0))},${round(y(value))}`).join(' ');
    parts.push(
      `<polyline fill="none" stroke="${line.color}" stroke-width="1.5"${line.dashed ? ' stroke-dasharray="5,4"' : ''} points="${points}"/>`,
      `<rect x="${legendX}" y="${top + 9}" width="10" height="10" fill="${line.color}"/>`,
      `<text x="${legendX + 14}" y="${top + 18}" font-size="11">${escapeXml(line.label)}</text>`,
    );
    legendX += 24 + line.label.length * 6.5;
  }
  return parts.join('\n');
}

function document(title: string, panels: readonly Panel[], t: readonly number[]): string {
  const height = panels.length * PANEL_HEIGHT + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...panels.map((panel, index) => panelSvg(panel, t, 36 + index * PANEL_HEIGHT)),
    '</svg>',
  ].join('\n');
}

/** The chart of one stage. */
export function stageChart(series: StageSeries, t: readonly number[]): string {
  const constant = (value: number) => t.map(() => value);
  const depth = series.visible.map(
    (visible, index) => visible + (series.notVisible[index] ?? 0) + (series.delayed[index] ?? 0),
  );
  return document(
    `stage ${series.name}`,
    [
      {
        title: 'depth (messages)',
        lines: [
          { label: 'total', values: depth, color: COLORS[0] as string },
          { label: 'visible', values: series.visible, color: COLORS[1] as string },
          { label: 'not visible', values: series.notVisible, color: COLORS[2] as string },
          { label: 'delayed', values: series.delayed, color: COLORS[4] as string },
          { label: 'depth limit', values: constant(series.depthLimit), color: COLORS[3] as string, dashed: true },
        ],
      },
      {
        title: 'age of the oldest message (s)',
        lines: [
          { label: 'oldest age', values: series.oldestAgeSeconds, color: COLORS[0] as string },
          { label: 'age SLO', values: constant(series.ageSloSeconds), color: COLORS[3] as string, dashed: true },
        ],
      },
      {
        title: 'rates (messages/s)',
        lines: [
          { label: 'in', values: series.inPerSecond, color: COLORS[0] as string },
          { label: 'out (completed)', values: series.outPerSecond, color: COLORS[2] as string },
          { label: 'retried', values: series.retriedPerSecond, color: COLORS[1] as string },
          { label: 'deferred', values: series.deferredPerSecond, color: COLORS[4] as string },
          { label: 'dead-lettered', values: series.deadLetteredPerSecond, color: COLORS[3] as string },
        ],
      },
      {
        title: 'concurrency (batches in flight)',
        lines: [{ label: 'concurrency', values: series.concurrency, color: COLORS[0] as string }],
      },
    ],
    t,
  );
}

/** The chart of the ingress. */
export function ingressChart(result: SimulationResult): string {
  const { t, ingress } = result.series;
  return document(
    `ingress of ${result.pipeline}`,
    [
      {
        title: 'requests/s',
        lines: [
          { label: 'offered', values: ingress.offeredPerSecond, color: COLORS[0] as string },
          { label: 'accepted', values: ingress.acceptedPerSecond, color: COLORS[2] as string },
          { label: 'throttled (429)', values: ingress.throttledPerSecond, color: COLORS[1] as string },
          { label: 'shed (503)', values: ingress.shedPerSecond, color: COLORS[4] as string },
          { label: 'rejected (503)', values: ingress.rejectedPerSecond, color: COLORS[3] as string },
        ],
      },
      {
        title: 'overflow queue depth',
        lines: [{ label: 'overflow', values: ingress.overflowDepth, color: COLORS[0] as string }],
      },
    ],
    t,
  );
}
