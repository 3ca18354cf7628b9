"use client";
// The ops page's charts (Recharts). Each has a table of the same figures next to it, which reads without JavaScript.
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";

export interface StackedPoint {
  label: string;
  completed: number;
  failed: number;
}

export function ExportsChart({ points, title }: { points: StackedPoint[]; title: string }) {
  return (
    <figure className="chart" aria-label={title}>
      <BarChart width={720} height={200} data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={24} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
        <Tooltip />
        <Legend />
        <Bar dataKey="completed" stackId="exports" fill="#2f855a" name="completed" isAnimationActive={false} />
        <Bar dataKey="failed" stackId="exports" fill="#c53030" name="failed" isAnimationActive={false} />
      </BarChart>
    </figure>
  );
}

export function FilesDeletedChart({ points }: { points: { label: string; files: number; orphans: number }[] }) {
  return (
    <figure className="chart" aria-label="Files deleted per day">
      <BarChart width={720} height={160} data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
        <Tooltip />
        <Legend />
        <Bar dataKey="files" stackId="deleted" fill="#2b6cb0" name="expired files" isAnimationActive={false} />
        <Bar dataKey="orphans" stackId="deleted" fill="#805ad5" name="orphans" isAnimationActive={false} />
      </BarChart>
    </figure>
  );
}
