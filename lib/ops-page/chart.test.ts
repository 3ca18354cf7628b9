import { describe, expect, it } from "vitest";
import { stackedBars, valueAxis, type BarPoint } from "./chart";

const series = [
  { key: "completed", name: "completed", color: "#2f855a" },
  { key: "failed", name: "failed", color: "#c53030" },
];

interface Rect {
  series: string;
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
}

/** The bar segments of a chart's SVG (each bar's transparent hover column left out). */
function segments(svg: string): Rect[] {
  return [...svg.matchAll(/<rect data-series="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="([^"]+)">/g)].map(
    (m) => ({
      series: m[1]!,
      x: Number(m[2]),
      y: Number(m[3]),
      width: Number(m[4]),
      height: Number(m[5]),
      fill: m[6]!,
    }),
  );
}

const point = (label: string, completed: number, failed: number): BarPoint => ({ label, values: { completed, failed } });

describe("stackedBars", () => {
  it("draws a figure with an SVG, a rect per bar segment, heights proportional to the figures, stacked", () => {
    const svg = stackedBars({
      title: "Exports per day",
      series,
      points: [point("11-24", 30, 10), point("11-25", 10, 10), point("11-26", 0, 0)],
    }).value;
    expect(svg).toMatch(/^<figure class="chart" aria-label="Exports per day"><svg /);
    const rects = segments(svg);
    expect(rects.map((r) => r.series)).toEqual(["completed", "failed", "completed", "failed"]); // no rect for a 0
    const [c1, f1, c2, f2] = rects as [Rect, Rect, Rect, Rect];
    const unit = c1.height / 30;
    for (const [rect, value] of [
      [f1, 10],
      [c2, 10],
      [f2, 10],
    ] as const)
      expect(rect.height).toBeCloseTo(value * unit, 1);
    expect(c1.fill).toBe("#2f855a");
    expect(f1.fill).toBe("#c53030");
    // failed sits on completed; the tallest bar (40) reaches the axis' top (40) exactly
    expect(f1.y + f1.height).toBeCloseTo(c1.y, 1);
    expect(c1.height + f1.height).toBeCloseTo(200 - 8 - 44, 1);
    // one band per point, left to right
    expect(c2.x).toBeGreaterThan(c1.x);
    expect(c1.x).toBe(f1.x);
  });

  it("puts each bar's figures in its <title>, and labels the axes and the legend", () => {
    const svg = stackedBars({
      title: "Exports per hour",
      series,
      points: [{ label: "14:00", title: "2026-11-25 14:00 UTC", values: { completed: 1234, failed: 5 } }],
    }).value;
    expect(svg).toContain("<title>2026-11-25 14:00 UTC: completed 1,234, failed 5</title>");
    expect(svg).toContain(">14:00</text>");
    expect(svg).toMatch(
      /<g class="legend"><rect [^>]*fill="#2f855a"><\/rect><text [^>]*>completed<\/text><rect [^>]*fill="#c53030"><\/rect><text [^>]*>failed<\/text><\/g>/,
    );
    for (const tick of ["0", "500", "1,000", "1,500"]) expect(svg).toContain(`>${tick}</text>`);
  });

  it("labels the first and last bars and enough between them, none overlapping", () => {
    const days = Array.from({ length: 30 }, (_, i) => point(`d${i}`, 1, 0));
    const svg = stackedBars({ title: "t", series, points: days }).value;
    const xs = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">d(\d+)<\/text>/g)].map((m) => ({
      x: Number(m[1]),
      day: Number(m[2]),
    }));
    expect(xs[0]!.day).toBe(0);
    expect(xs.at(-1)!.day).toBe(29);
    expect(xs.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < xs.length; i += 1) expect(xs[i]!.x - xs[i - 1]!.x).toBeGreaterThanOrEqual(40);
  });

  it("draws one point as one bar of a sensible width", () => {
    const rects = segments(stackedBars({ title: "t", series, points: [point("11-25", 3, 0)] }).value);
    expect(rects).toHaveLength(1);
    expect(rects[0]!.width).toBeLessThanOrEqual(48);
    expect(rects[0]!.height).toBeCloseTo(200 - 8 - 44, 1);
  });

  it("draws an empty series as empty axes saying so, and all zeros as no bars", () => {
    const none = stackedBars({ title: "t", series, points: [] }).value;
    expect(segments(none)).toEqual([]);
    expect(none).toContain(">No data</text>");
    const zeros = stackedBars({ title: "t", series, points: [point("a", 0, 0), point("b", 0, 0)] }).value;
    expect(segments(zeros)).toEqual([]);
    expect(zeros).toContain("<title>a: completed 0, failed 0</title>");
    expect(zeros).not.toContain("NaN");
  });

  it("escapes labels and names", () => {
    const svg = stackedBars({
      title: `<x>"`,
      series: [{ key: "k", name: "<b>", color: "#000" }],
      points: [{ label: "<script>", values: { k: 1 } }],
    }).value;
    expect(svg).not.toMatch(/<(script|b|x)>/);
    expect(svg).toContain("&lt;script&gt;");
  });

  it("draws a value axis of whole steps from 0 to at least the tallest bar", () => {
    expect(valueAxis(0)).toEqual({ top: 1, step: 1 });
    expect(valueAxis(1)).toEqual({ top: 1, step: 1 });
    expect(valueAxis(7)).toEqual({ top: 8, step: 2 });
    expect(valueAxis(40)).toEqual({ top: 40, step: 10 });
    expect(valueAxis(1239)).toEqual({ top: 1500, step: 500 });
  });
});
