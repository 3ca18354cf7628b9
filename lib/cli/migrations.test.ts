import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { planMigrations, versionAt, writeMigrations } from "./migrations";

const OURS = [
  "20251031000000_export_ops_preflight.sql",
  "20251101000000_export_ops_schema.sql",
  "20261203000000_export_ops_guest_buckets.sql",
];

describe("planMigrations", () => {
  it("dates every export-ops migration after the folder's newest, one second apart, in export-ops' order", () => {
    expect(planMigrations([...OURS].reverse(), ["20261203083014_init.sql", ".gitkeep"])).toEqual([
      { source: OURS[0], target: "20261203083015_export_ops_preflight.sql" },
      { source: OURS[1], target: "20261203083016_export_ops_schema.sql" },
      { source: OURS[2], target: "20261203083017_export_ops_guest_buckets.sql" },
    ]);
  });

  it("orders versions by time, across a day's end, whatever the folder's order", () => {
    const plan = planMigrations(OURS, ["20261203235959_later.sql", "20260115093000_init.sql"]);
    expect(plan.map((p) => p.target)).toEqual([
      "20261204000000_export_ops_preflight.sql",
      "20261204000001_export_ops_schema.sql",
      "20261204000002_export_ops_guest_buckets.sql",
    ]);
  });

  it("keeps export-ops' own first date in a folder with no dated migration, or only older ones", () => {
    const expected = [
      "20251031000000_export_ops_preflight.sql",
      "20251031000001_export_ops_schema.sql",
      "20251031000002_export_ops_guest_buckets.sql",
    ];
    expect(planMigrations(OURS, []).map((p) => p.target)).toEqual(expected);
    expect(planMigrations(OURS, ["0001_init.sql", "20240101000000_old.sql"]).map((p) => p.target)).toEqual(expected);
  });

  it("writes only what the folder lacks, whatever dates the folder gave the others, and nothing the second time", () => {
    const first = ["20260115093000_init.sql", "20261201100000_export_ops_preflight.sql", "20261201100001_export_ops_schema.sql"];
    const plan = planMigrations(OURS, first);
    expect(plan).toEqual([{ source: OURS[2], target: "20261201100002_export_ops_guest_buckets.sql" }]);
    expect(planMigrations(OURS, [...first, plan[0]!.target])).toEqual([]);
  });

  it("refuses a folder whose newest version is long but not a time, rather than guess an order", () => {
    expect(() => planMigrations(OURS, ["99999999999999_x.sql"])).toThrow(/not a YYYYMMDDHHMMSS time/);
  });

  it("writes versions as the Supabase CLI does: UTC, to the second", () => {
    expect(versionAt(new Date("2026-01-02T03:04:05.999Z"))).toBe("20260102030405");
  });
});

describe("a dry run, then the write", () => {
  let dir: string;
  let from: string;
  let into: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "export-ops-migrations-"));
    from = path.join(dir, "ours");
    into = path.join(dir, "theirs");
    for (const [folder, names] of [
      [from, OURS],
      [into, ["20261203083014_init.sql"]],
    ] as const) {
      mkdirSync(folder);
      for (const name of names) writeFileSync(path.join(folder, name), `-- ${name}\n`);
    }
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it("name the same files, whenever each runs", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-12-07T10:00:00.400Z"));
    const dry = writeMigrations(from, into, { dryRun: true });
    expect(readdirSync(into)).toEqual(["20261203083014_init.sql"]);
    vi.setSystemTime(new Date("2026-12-07T10:00:03.900Z"));
    const written = writeMigrations(from, into);
    expect(written.plan).toEqual(dry.plan);
    expect(readdirSync(into).sort()).toEqual(["20261203083014_init.sql", ...dry.plan.map((p) => p.target)].sort());
  });

  it("as the command prints them: `would write` lists exactly what `wrote` lists a moment later", () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, ["--import", "tsx", cli, "migrations", "--from", from, "--into", into, ...args], {
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return r.stdout;
    };
    const dry = run("--dry-run");
    const wrote = run();
    const names = (out: string, verb: string) =>
      out
        .split("\n")
        .filter((l) => l.startsWith(`${verb} `))
        .map((l) => path.basename(l.slice(verb.length + 1)));
    expect(names(dry, "would write")).toEqual([
      "20261203083015_export_ops_preflight.sql",
      "20261203083016_export_ops_schema.sql",
      "20261203083017_export_ops_guest_buckets.sql",
    ]);
    expect(names(wrote, "wrote")).toEqual(names(dry, "would write"));
    expect(
      readdirSync(into)
        .filter((n) => n.includes("_export_ops_"))
        .sort(),
    ).toEqual(names(dry, "would write"));
  });
});
