/**
 * A job's command line as its query options, parsed with node:util `parseArgs`: `--dry-run --retention-hours 48`
 * → `dry_run=true&retention_hours=48`. The flags come from the job's options schema (kebab-case; a boolean option
 * is a bare flag, turned off with `--no-<flag>`: `--no-sweep-orphans`), so an unknown flag, a missing value or a stray argument is refused before anything runs, and
 * the values are then validated by the same schema as the route.
 */
import { parseArgs } from "node:util";
import type { z } from "zod";

const kebab = (key: string) => key.replaceAll("_", "-");

/** Whether an option of the schema takes `true` (a bare flag on the command line). */
function isBoolean(field: z.ZodType): boolean {
  const parsed = field.safeParse("true");
  return parsed.success && typeof parsed.data === "boolean";
}

export function argsToQuery(schema: z.ZodObject, args: string[], extra: Record<string, { type: "boolean" | "string" }> = {}) {
  const options = Object.fromEntries(
    Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) => [
      kebab(key),
      { type: isBoolean(field) ? ("boolean" as const) : ("string" as const) },
    ]),
  );
  const { values } = parseArgs({ args, options: { ...options, ...extra }, strict: true, allowPositionals: false, allowNegative: true });
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (name in extra || value === undefined) continue;
    query.append(name.replaceAll("-", "_"), String(value));
  }
  return { query, extra: Object.fromEntries(Object.keys(extra).map((k) => [k, values[k]])) };
}
