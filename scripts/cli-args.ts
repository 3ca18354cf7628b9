/** `--dry-run --retention-hours 48` → `dry_run=true&retention_hours=48`: CLI flags as a job's query options. */
export function flagsToQuery(args: string[]): URLSearchParams {
  const query = new URLSearchParams();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const next = args[i + 1];
    let value = inline;
    if (value === undefined) {
      const takesNext = next !== undefined && !next.startsWith("--");
      value = takesNext ? next : "true";
      if (takesNext) i += 1;
    }
    query.append(name.replaceAll("-", "_"), value);
  }
  return query;
}
