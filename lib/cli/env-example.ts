/**
 * export-ops' settings in a host's `.env.example`: one block between two marker lines, holding only the variables
 * the file does not name already. remove takes the block out while every line in it is still one init writes.
 */
const START = "# --- export-ops (npx export-ops init) ---";
const END = "# --- end of export-ops ---";

/** The settings a host adds, with what each is for (and a value where one is right for most); see docs/CONFIGURATION.md. */
const SETTINGS: [name: string, comment: string, value?: string][] = [
  ["CRON_SECRET", "Bearer Vercel Cron sends to the cron routes: at least 32 characters (openssl rand -base64 32)."],
  ["OPS_TOKEN", "The ops page (/ops) sign-in token; unset, /ops answers 404."],
  ["HEALTH_TOKEN", "Bearer for GET /api/health/detailed; unset, it answers 404."],
  ["METRICS_TOKEN", "Bearer for GET /api/metrics (Prometheus); unset, it answers 404."],
  [
    "EXPORT_ARCHIVE_BUCKET",
    "The private bucket the migrations create: logs are archived there before they are deleted (unset: no archive).",
    "export-archive",
  ],
  ["ALERT_WEBHOOK_URL", "A Slack-compatible webhook for the failure-rate alert."],
];
const PREAMBLE = [
  "# SUPABASE_URL (or NEXT_PUBLIC_SUPABASE_URL) and SUPABASE_SERVICE_ROLE_KEY are read as your app has them.",
  "# Every setting: https://github.com/export-ops/export-ops/blob/main/docs/CONFIGURATION.md",
];

const named = (source: string, name: string) => new RegExp(`^\\s*(export\\s+)?${name}=`, "m").test(source);

/** The host's .env.example (or none) with the block added; `undefined` when it has one already. */
export function addSettings(source: string | null): string | undefined {
  const text = source ?? "";
  if (text.includes(START)) return undefined;
  const lines = SETTINGS.filter(([name]) => !named(text, name)).flatMap(([name, comment, value = ""]) => [
    `# ${comment}`,
    `${name}=${value}`,
  ]);
  const block = [START, ...PREAMBLE, ...lines, END].join("\n");
  // one newline before the block, which remove takes away again: an empty line after the host's last line
  return text === "" ? `${block}\n` : `${text}\n${block}\n`;
}

export type SettingsRemoval = { kind: "removed"; content: string | null } | { kind: "absent" } | { kind: "edited"; line: string };

/** The host's .env.example without the block; `null` content when the block was all the file held. */
export function removeSettings(source: string): SettingsRemoval {
  const start = source.indexOf(START);
  if (start < 0) return { kind: "absent" };
  const end = source.indexOf(END, start);
  if (end < 0) return { kind: "edited", line: END };
  const ours = new Set([...PREAMBLE, ...SETTINGS.flatMap(([name, comment, value = ""]) => [`# ${comment}`, `${name}=${value}`])]);
  const inside = source
    .slice(start + START.length, end)
    .split("\n")
    .filter((l) => l !== "");
  const foreign = inside.find((l) => !ours.has(l));
  if (foreign !== undefined) return { kind: "edited", line: foreign };
  const before = source.slice(0, start);
  const after = source.slice(end + END.length).replace(/^\n/, "");
  if (before === "" && after === "") return { kind: "removed", content: null };
  return { kind: "removed", content: before.replace(/\n$/, "") + after };
}
