"use client";
// The ops page's charts (Recharts): stacked bars per hour or day. Each has a table of the same figures under it,
// which reads without JavaScript.
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";

export interface Series {
  key: string;
  name: string;
  color: string;
}

export function StackedBars({ title, points, series, height = 200 }: { title: string; points: Record<string, string | number>[]; series: Series[]; height?: number }) {
  return (
    <figure className="chart" aria-label={title}>
      <BarChart width={720} height={height} data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={24} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
        <Tooltip />
        <Legend />
        {series.map((s) => (
          <Bar key={s.key} dataKey={s.key} stackId="stack" fill={s.color} name={s.name} isAnimationActive={false} />
        ))}
      </BarChart>
    </figure>
  );
}
