/**
 * HTML from a tagged template: every interpolated value is escaped, unless it is already HTML (made by `html`
 * itself, or marked with `raw`). Values are text or attribute values only: an attribute is always written quoted
 * in a template (`class="${x}"`), never bare, and nothing is interpolated into a <script> or <style>.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What a template takes: HTML, text (escaped), numbers, and nothing (null, undefined, false: empty). */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for an element's content and for a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A fragment known to be safe HTML (a constant of this page's own, never anything read or received). */
export function raw(fragment: string): SafeHtml {
  return new SafeHtml(fragment);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || typeof value === "boolean") return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}
