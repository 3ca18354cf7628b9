/**
 * The package checks a host's input by the rules the database and the jobs apply, before anything is sent: the
 * same rules, not look-alikes. The formats' rules are the CHECK constraints of export_ops_formats
 * (supabase/schemas/02_formats.sql); a path's are the file cleanup's (unsafePathReason in lib/files/export-paths.ts).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SEED_FORMATS, unsafePathReason } from "../files/export-paths";
import { EXPORT_EXTENSION, EXPORT_FORMAT_NAME, exportPathProblem, UUID } from "./rules";

const formatsSql = readFileSync(new URL("../../supabase/schemas/02_formats.sql", import.meta.url), "utf8");
const USER = "00000000-0000-4000-a000-000000000001";

describe("the package's rules", () => {
  it("take a format name as export_ops_formats' CHECK does", () => {
    expect(formatsSql).toContain(`CHECK ((format ~ '${EXPORT_FORMAT_NAME.source}'::text))`);
  });

  it("take an extension as export_ops_formats' CHECK takes each of a format's extensions", () => {
    const one = EXPORT_EXTENSION.source.replace(/^\^|\$$/g, "");
    expect(formatsSql).toContain(`array_to_string(extensions, '/') ~ '^${one}(/${one})*$'`);
  });

  it("take ids as UUIDs in any case, as Postgres does", () => {
    expect(UUID.test(USER.toUpperCase())).toBe(true);
    expect(UUID.test(`${USER}0`)).toBe(false);
  });

  // Every way a path can be refused, and a few that pass. The file cleanup also checks the extension against the
  // export's own format, which only the database knows: here every extension of the right shape is a format's.
  const paths = [
    `${USER}/e.csv`,
    `${USER}/e.markdown`,
    `${USER.toUpperCase()}/report-2026_01.v2.pdf`,
    "",
    `${USER}/${"x".repeat(1020)}.csv`,
    `${USER}/e\u0000.csv`,
    `${USER}/e\u007f.csv`,
    `/${USER}/e.csv`,
    `${USER}/../e.csv`,
    `${USER}/./e.csv`,
    `${USER}/a/e.csv`,
    "e.csv",
    `alice/e.csv`,
    `${USER}/.csv`,
    `${USER}/-e.csv`,
    `${USER}/e f.csv`,
    `${USER}/é.csv`,
    `${USER}/e`,
    `${USER}/e.`,
    `${USER}/e.CSV`,
    `${USER}/e.tar-gz`,
    `${USER}/e.${"x".repeat(17)}`,
  ];
  const formats = { ...SEED_FORMATS, pdf: ["pdf"] };

  it.each(paths.map((p) => [JSON.stringify(p).slice(0, 60), p]))("judge the path %s as the file cleanup does", (_, path) => {
    expect(exportPathProblem(path)).toBe(unsafePathReason(path, formats));
  });
});
