// What every panel of the ops page shares: figures wrapped in <data value> with a data-field name (so the browser
// test compares them with the SQL API), table heads, tables folded under charts, empty states, and a panel's own
// read failure.
import type { ReactNode } from "react";
import type { PanelRead } from "@/lib/ops/page-data";
import { int } from "../format";

export function Figure({ field, value, children }: { field: string; value: number | string | null; children?: ReactNode }) {
  return (
    <data value={value ?? ""} data-field={field}>
      {children ?? (typeof value === "number" ? int(value) : (value ?? "—"))}
    </data>
  );
}

export function Head({ cols }: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((col) => (
          <th key={col} scope="col">
            {col}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A chart's figures as a table, folded under it: it reads without JavaScript. */
export function DetailsTable({ cols, children }: { cols: string[]; children: ReactNode }) {
  return (
    <details>
      <summary>Table</summary>
      <table>
        <Head cols={cols} />
        <tbody>{children}</tbody>
      </table>
    </details>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A panel: its heading, and its content once its own read succeeded, or that read's error in its place. */
export function Panel<T>({ id, title, read, children }: { id: string; title: string; read: PanelRead<T>; children: (value: T) => ReactNode }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {read.ok ? (
        children(read.value)
      ) : (
        <p role="alert" className="error">
          Could not read this panel: {read.message}. The other panels are read on their own; reload to try again.
        </p>
      )}
    </section>
  );
}
