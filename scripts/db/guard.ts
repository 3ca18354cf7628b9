/**
 * What a generated export-ops migration may say. Each statement is recognised by its form and the object it acts
 * on: that object (or the table a trigger, policy, index or constraint is on) must be export-ops' own, in `public`
 * and named as export-ops names its objects. Dropping a table or a column is refused: export_logs and export_metrics
 * may hold a host's kept data from an earlier install, and a migration never removes data. Schemas, extensions,
 * default privileges and anything unrecognised are refused too: such a change is written by hand.
 */

/** export-ops' objects: named export_ops_*, its two tables, and the media type of its archive text. */
export const EXPORT_OPS_NAME = /^(export_ops_|export_logs|export_metrics|application\/vnd\.export-ops\.)/;

const Q = String.raw`(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*))`;
/** A qualified name: schema (1, 2 quoted or not), then object (3, 4). */
const QNAME = String.raw`${Q}\.${Q}`;

/** Statement forms; the last qualified name each captures is the object acted on (or the table it is on). */
const FORMS: RegExp[] = [
  new RegExp(String.raw`^create (?:or replace )?(?:function|procedure) ${QNAME}\(`, "i"),
  new RegExp(String.raw`^drop (?:function|procedure) (?:if exists )?${QNAME}\(`, "i"),
  new RegExp(String.raw`^create (?:unlogged )?table ${QNAME}`, "i"),
  new RegExp(
    String.raw`^(?:create (?:or replace )?|drop )(?:view|materialized view|sequence|type|domain|statistics) (?:if exists )?${QNAME}`,
    "i",
  ),
  new RegExp(String.raw`^create (?:unique )?index ${Q} on (?:only )?${QNAME} `, "i"),
  new RegExp(String.raw`^drop index (?:if exists )?${QNAME};$`, "i"),
  new RegExp(String.raw`^create (?:constraint )?trigger ${Q} .*? on ${QNAME} `, "is"),
  new RegExp(String.raw`^(?:drop trigger if exists|create policy|drop policy) ${Q}\s+on ${QNAME}`, "i"),
  new RegExp(String.raw`^alter (?:table|sequence|type|domain) (?:only )?${QNAME} `, "i"),
  new RegExp(String.raw`^(?:grant|revoke) [a-z, ]+ on (?:table|sequence|function|domain|type) ${QNAME}`, "i"),
  new RegExp(
    String.raw`^comment on (?:table|view|materialized view|sequence|index|foreign table|column|function|domain|type) ${QNAME}`,
    "i",
  ),
];

const unquote = (quoted: string | undefined, plain: string | undefined) => quoted?.replaceAll('""', '"') ?? plain ?? "";

export type Verdict = { object: string } | { refused: string } | { setting: true };

/** The object `statement` acts on (`public.<name>`), or why it may not stand in an export-ops migration. */
export function judge(statement: string): Verdict {
  const s = statement.trim();
  if (/^set check_function_bodies = off;$/i.test(s)) return { setting: true };
  if (/^drop table /i.test(s) || /^alter table .* drop column /is.test(s)) return { refused: "drops data" };
  for (const form of FORMS) {
    const m = form.exec(s);
    if (!m) continue;
    const g = m.slice(-4); // the qualified name's four groups
    const [schema, name] = [unquote(g[0], g[1]), unquote(g[2], g[3])];
    if (schema !== "public") return { refused: `acts on ${schema}.${name}, outside export-ops' schema` };
    if (!EXPORT_OPS_NAME.test(name)) return { refused: `acts on public.${name}, not an export-ops object` };
    return { object: `public.${name}` };
  }
  return { refused: "is not a statement an export-ops migration is generated with" };
}

/**
 * The objects the statements act on, each once; throws, naming every refused statement,
 * unless all may stand in an export-ops migration.
 */
export function guard(statements: string[]): string[] {
  const verdicts = statements.map((s) => ({ s, v: judge(s) }));
  const refused = verdicts.flatMap(({ s, v }) => ("refused" in v ? [`- ${v.refused}: ${s.split("\n")[0]!.slice(0, 200)}`] : []));
  if (refused.length > 0) {
    throw new Error(
      `the difference has statements an export-ops migration may not carry; write this change by hand:\n${refused.join("\n")}`,
    );
  }
  return [...new Set(verdicts.flatMap(({ v }) => ("object" in v ? [v.object] : [])))];
}
