/**
 * The ops page's charts: stacked bars per hour or day, drawn on the server as inline SVG — a <rect> per bar
 * segment, axis labels, a legend, and each bar's figures in a <title> (shown on hover). No script and no style
 * attribute: colours are SVG presentation attributes, which the page's content security policy allows. Each chart
 * has a table of the same figures under it.
 */
import { int } from "./format";
import { html, type SafeHtml } from "./html";

export interface Series {
  key: string;
  name: string;
  color: string;
}

export interface BarPoint {
  /** Under the bar (`14:00`, `11-25`). */
  label: string;
  /** The bar's name in its hover title (the full hour or day); the label when left out. */
  title?: string;
  /** Per series key; a missing one is 0. */
  values: Record<string, number>;
}

export interface ChartOptions {
  title: string;
  points: readonly BarPoint[];
  series: readonly Series[];
  /** The whole drawing, axis labels and legend included. */
  height?: number;
  width?: number;
}

const MARGIN = { top: 8, right: 8, bottom: 44, left: 48 };
const MAX_BAR_WIDTH = 48;
const LABEL_WIDTH = 40;
const AXIS_TEXT = "#4b5563";

const round = (n: number) => Math.round(n * 100) / 100;

/** The value axis: whole steps of 1, 2 or 5 × 10ⁿ, about four of them, from 0 to at least `max`. */
export function valueAxis(max: number, ticks = 4): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 1 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(
    1,
    [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!,
  );
  return { top: Math.ceil(max / step) * step, step };
}

interface Plot {
  x: number;
  y: number;
  width: number;
  height: number;
  top: number;
}

const total = (point: BarPoint, series: readonly Series[]) => series.reduce((sum, s) => sum + Math.max(0, point.values[s.key] ?? 0), 0);

/** One bar: a transparent column to hover, its segments bottom up, and its figures as the hover title. */
function bar(point: BarPoint, index: number, count: number, series: readonly Series[], plot: Plot): SafeHtml {
  const band = plot.width / count;
  const width = Math.min(band * 0.8, MAX_BAR_WIDTH);
  const x = round(plot.x + band * index + (band - width) / 2);
  const base = plot.y + plot.height;
  let stacked = 0;
  const segments = series.map((s) => {
    const value = Math.max(0, point.values[s.key] ?? 0);
    if (value === 0) return null;
    const height = (value / plot.top) * plot.height;
    stacked += height;
    return html`<rect data-series="${s.key}" x="${x}" y="${round(base - stacked)}" width="${round(width)}" height="${round(height)}" fill="${s.color}"></rect>`;
  });
  const figures = series.map((s) => `${s.name} ${int(point.values[s.key] ?? 0)}`).join(", ");
  return html`<g class="bar"><title>${point.title ?? point.label}: ${figures}</title><rect class="hit" x="${round(plot.x + band * index)}" y="${plot.y}" width="${round(band)}" height="${plot.height}" fill="transparent"></rect>${segments}</g>`;
}

function valueLabels(plot: Plot, step: number): SafeHtml[] {
  const out: SafeHtml[] = [];
  for (let value = 0; value <= plot.top; value += step) {
    const y = round(plot.y + plot.height - (value / plot.top) * plot.height);
    const line = value === 0 ? html`stroke="#9ca3af"` : html`stroke="#e5e7eb" stroke-dasharray="3 3"`;
    out.push(html`<line x1="${plot.x}" x2="${plot.x + plot.width}" y1="${y}" y2="${y}" ${line}></line>`);
    out.push(html`<text x="${plot.x - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${int(value)}</text>`);
  }
  return out;
}

/** Labels under the bars: the first, the last, and every k-th between them, none overlapping another. */
function categoryLabels(points: readonly BarPoint[], plot: Plot): SafeHtml[] {
  const band = plot.width / points.length;
  const every = Math.max(1, Math.ceil(LABEL_WIDTH / band));
  const last = points.length - 1;
  return points.flatMap((point, i) => {
    const shown = i === last || (i % every === 0 && (last - i) * band >= LABEL_WIDTH);
    return shown
      ? [html`<text x="${round(plot.x + band * i + band / 2)}" y="${plot.y + plot.height + 14}" text-anchor="middle">${point.label}</text>`]
      : [];
  });
}

function legend(series: readonly Series[], x: number, y: number): SafeHtml {
  let at = x;
  const items = series.map((s) => {
    const item = html`<rect x="${at}" y="${y - 9}" width="10" height="10" fill="${s.color}"></rect><text x="${at + 14}" y="${y}">${s.name}</text>`;
    at += 14 + s.name.length * 6.5 + 16;
    return item;
  });
  return html`<g class="legend">${items}</g>`;
}

export function stackedBars({ title, points, series, height = 200, width = 720 }: ChartOptions): SafeHtml {
  const max = Math.max(0, ...points.map((p) => total(p, series)));
  const { top, step } = valueAxis(max);
  const plot: Plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
    top,
  };
  const body =
    points.length === 0
      ? html`<text x="${plot.x + plot.width / 2}" y="${plot.y + plot.height / 2}" text-anchor="middle">No data</text>`
      : html`${valueLabels(plot, step)}${points.map((p, i) => bar(p, i, points.length, series, plot))}${categoryLabels(points, plot)}`;
  return html`<figure class="chart" aria-label="${title}"><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${title}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="11" fill="${AXIS_TEXT}">${body}${legend(series, plot.x, height - 6)}</svg></figure>`;
}
