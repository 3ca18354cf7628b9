// What every panel of the ops page shares: figures wrapped in <data value> with a data-field name (so the browser
// test compares them with the SQL API), times, table heads, tables folded under charts, empty states, and a panel's
// own read failure.
import type { PanelRead } from "../ops/page-data";
import { int, utc } from "./format";
import { html, type HtmlValue, type SafeHtml } from "./html";

/** A figure: its exact value in `value`, shown as `shown` (by default the number with separators, or the text). */
export function figure(field: string, value: number | string | null, shown?: HtmlValue): SafeHtml {
  const text = shown ?? (typeof value === "number" ? int(value) : (value ?? "—"));
  return html`<data value="${value ?? ""}" data-field="${field}">${text}</data>`;
}

/** A time in UTC; the page's one script puts the reader's local time in its title. */
export function time(iso: string): SafeHtml {
  return html`<time datetime="${iso}">${utc(iso)}</time>`;
}

export function head(cols: readonly string[]): SafeHtml {
  return html`<thead><tr>${cols.map((col) => html`<th scope="col">${col}</th>`)}</tr></thead>`;
}

/** A chart's figures as a table, folded under it. */
export function detailsTable(cols: readonly string[], rows: HtmlValue): SafeHtml {
  return html`<details><summary>Table</summary><table>${head(cols)}<tbody>${rows}</tbody></table></details>`;
}

export function empty(content: HtmlValue): SafeHtml {
  return html`<p class="empty">${content}</p>`;
}

/** A panel: its heading, and its content once its own read succeeded, or that read's error in its place. */
export function panel<T>(id: string, title: string, read: PanelRead<T>, content: (value: T) => HtmlValue): SafeHtml {
  const body = read.ok
    ? content(read.value)
    : html`<p role="alert" class="error">Could not read this panel: ${read.message}. The other panels are read on their own; reload to try again.</p>`;
  return html`<section aria-labelledby="${id}"><h2 id="${id}">${title}</h2>${body}</section>`;
}

/** `status-<value>`: the colour of a state, which the text says in words too. */
export const status = (value: string) => `status-${value}`;

/** A table cell, with a class when it has one. */
export const cell = (content: HtmlValue, cellClass?: string): SafeHtml =>
  cellClass ? html`<td class="${cellClass}">${content}</td>` : html`<td>${content}</td>`;
