// The ops page's one stylesheet, inlined in its <head> (allowed by its hash in the page's content security
// policy). Every rule is scoped under the page's root class, so nothing applies outside the page.
export const ROOT_CLASS = "export-ops-page";

const r = `.${ROOT_CLASS}`;

export const STYLE = `
${r} { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; background: #fff; }
${r} main { max-width: 1100px; }
${r} header { display: flex; justify-content: space-between; align-items: center; gap: 1rem; flex-wrap: wrap; }
${r} header form { display: flex; gap: 0.5rem; }
${r} header h1 a { color: inherit; text-decoration: none; }
${r} section { margin: 2rem 0; }
${r} table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
${r} th, ${r} td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
${r} thead th { background: #f4f4f5; }
${r} caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
${r} .counts { max-width: 22rem; }
${r} .pair { display: flex; gap: 2rem; flex-wrap: wrap; }
${r} .chart { margin: 0.5rem 0; }
${r} .chart svg { display: block; max-width: 100%; height: auto; }
${r} .chart .bar:hover .hit { fill: #f3f4f6; }
${r} .empty { color: #6b7280; font-style: italic; }
${r} .meta { color: #4b5563; }
${r} .error { color: #b91c1c; font-weight: 600; }
${r} .status-ok, ${r} .status-succeeded { color: #166534; }
${r} .status-partial, ${r} .status-awaiting_first_run, ${r} .status-skipped { color: #92400e; }
${r} .status-failing, ${r} .status-failed, ${r} .status-overdue, ${r} .status-abandoned, ${r} .status-firing { color: #b91c1c; font-weight: 600; }
${r} pre { background: #f4f4f5; padding: 0.75rem; overflow-x: auto; }
${r} time[title] { text-decoration: underline dotted; }
${r} .signin form { display: flex; flex-direction: column; gap: 0.5rem; max-width: 28rem; }
${r} .signin .hint { color: #4b5563; margin: 0; }
`;

/**
 * The page's one script: each time's title becomes the reader's local time (only the browser knows it). Without
 * it the page reads the same, in UTC.
 */
export const SCRIPT = `for (const t of document.querySelectorAll("time[datetime]")) t.title = new Date(t.dateTime).toLocaleString() + " (your time)";`;
