import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { jobs } from "../jobs";
import { addSettings, removeSettings } from "./env-example";
import { applyPlan, planInit, planRemove } from "./init";
import { EXCLUSION, manualChange, patchMiddleware, unpatchMiddleware } from "./middleware";
import { routeFiles } from "./route-files";
import { addSchedules, removeSchedules } from "./vercel-json";

/** Vercel's Supabase starter (with-supabase): its middleware's matcher, as it ships. */
const STARTER_MIDDLEWARE = `import { type NextRequest } from "next/server";
import { updateSession } from "@/lib/supabase/middleware";

export async function middleware(request: NextRequest) {
  return await updateSession(request);
}

export const config = {
  matcher: [
    "/((?!_next/static|_next/image|favicon.ico|.*\\\\.(?:svg|png|jpg|jpeg|gif|webp)$).*)",
  ],
};
`;

describe("the middleware's matcher", () => {
  it("lets export-ops' paths through a starter's lookahead, once, and remove restores it exactly", () => {
    const patched = patchMiddleware(STARTER_MIDDLEWARE);
    expect(patched.kind).toBe("patched");
    const content = (patched as { content: string }).content;
    expect(content).toContain(`"/((?!${EXCLUSION}_next/static|`);
    expect(patchMiddleware(content).kind).toBe("unchanged");
    expect(unpatchMiddleware(content)).toBe(STARTER_MIDDLEWARE);
    expect(unpatchMiddleware(STARTER_MIDDLEWARE)).toBeUndefined();
  });

  it("keeps a matcher that lets none of export-ops' paths through (a lookahead written as a regular expression test)", () => {
    const lookahead = new RegExp(`^/(?!${EXCLUSION}_next/static)`);
    for (const p of ["/api/cron/export-file-cleanup", "/api/health", "/api/health/detailed", "/api/metrics", "/ops", "/ops/runs/x"])
      expect(lookahead.test(p), p).toBe(false);
    for (const p of ["/", "/dashboard", "/api/export", "/opsboard", "/api/cron/host-job"]) expect(lookahead.test(p), p).toBe(true);
  });

  it("prints a change by hand that is valid code and lets exactly export-ops' paths through", () => {
    const line = manualChange("middleware.ts")
      .split("\n")
      .find((l) => l.includes(".test(request"))!;
    const literal = line.slice(line.indexOf("/^"), line.indexOf(".test("));
    const pattern = new Function(`return ${literal}`)() as RegExp;
    for (const p of ["/api/cron/export-file-cleanup", "/api/health", "/api/health/detailed", "/api/metrics", "/ops", "/ops/runs/x"])
      expect(pattern.test(p), p).toBe(true);
    for (const p of ["/", "/dashboard", "/api/export", "/opsboard", "/api/cron/host-job"]) expect(pattern.test(p), p).toBe(false);
  });

  it("asks for a change by hand where it runs on every path, or in a form init does not know", () => {
    expect(patchMiddleware("export function middleware() {}\n").kind).toBe("manual");
    expect(patchMiddleware('export const config = { matcher: ["/api/:path*"] };\n').kind).toBe("manual");
  });

  it("leaves a matcher that never reaches export-ops' paths", () => {
    expect(patchMiddleware('export const config = { matcher: ["/dashboard/:path*", "/account"] };\n')).toMatchObject({ kind: "unchanged" });
  });
});

describe("vercel.json", () => {
  const host = `{\n  "$schema": "https://openapi.vercel.sh/vercel.json",\n  "crons": [\n    {\n      "path": "/api/digest",\n      "schedule": "0 8 * * *"\n    }\n  ]\n}\n`;

  it("gains one cron per job beside the host's own, and loses exactly them again", () => {
    const added = addSchedules(host, "crons");
    expect(added.kind).toBe("changed");
    const content = (added as { content: string }).content;
    const crons = (JSON.parse(content) as { crons: { path: string; schedule: string }[] }).crons;
    expect(crons).toEqual([
      { path: "/api/digest", schedule: "0 8 * * *" },
      ...jobs.map((j) => ({ path: `/api/cron/${j.id}`, schedule: j.schedule })),
    ]);
    expect(addSchedules(content, "crons").kind).toBe("unchanged");
    expect(removeSchedules(content, "crons")).toEqual({ kind: "changed", content: host });
  });

  it("is created when the host has none, and deleted by remove", () => {
    const added = addSchedules(null, "crons") as { content: string };
    expect(removeSchedules(added.content, "crons")).toEqual({ kind: "changed", content: null });
  });

  it("takes the Schedules form with --schedules", () => {
    const content = (addSchedules(host, "schedules") as { content: string }).content;
    expect(JSON.parse(content).schedules["export-file-cleanup"]).toEqual({
      schedule: "0 2 * * *",
      path: "/api/cron/export-file-cleanup",
      requestMethod: "GET",
    });
    expect(removeSchedules(content, "schedules")).toEqual({ kind: "changed", content: host });
  });

  it("keeps the host's tabs and a missing final newline", () => {
    const tabbed = '{\n\t"crons": []\n}';
    const content = (addSchedules(tabbed, "crons") as { content: string }).content;
    expect(content).toMatch(/^\{\n\t"crons"/);
    expect(content.endsWith("}")).toBe(true);
  });

  it("is left as it is, however it is laid out, when it schedules every job already", () => {
    const compact = `{ "crons": [${jobs.map((j) => `{ "path": "/api/cron/${j.id}", "schedule": "${j.schedule}" }`).join(", ")}] }\n`;
    expect(addSchedules(compact, "crons").kind).toBe("unchanged");
  });

  it("is not edited where a rewrite would change more than export-ops' entries", () => {
    expect(addSchedules('{ "crons": [] }\n', "crons").kind).toBe("manual");
    expect(addSchedules("{\n  // comment\n}\n", "crons").kind).toBe("manual");
  });

  it("keeps a cron of export-ops' path that the host gave another schedule", () => {
    const own = `{\n  "crons": [\n    {\n      "path": "/api/cron/export-file-cleanup",\n      "schedule": "0 4 * * *"\n    }\n  ]\n}\n`;
    const content = (addSchedules(own, "crons") as { content: string }).content;
    expect(JSON.parse(content).crons.filter((c: { path: string }) => c.path === "/api/cron/export-file-cleanup")).toEqual([
      { path: "/api/cron/export-file-cleanup", schedule: "0 4 * * *" },
    ]);
    expect((removeSchedules(content, "crons") as { content: string }).content).toBe(own);
  });
});

describe(".env.example", () => {
  it.each([
    ["with a final newline", "NEXT_PUBLIC_SUPABASE_URL=\n"],
    ["without one", "A=1"],
    ["empty", ""],
  ])("gains a block and loses it exactly (%s)", (_n, host) => {
    const added = addSettings(host)!;
    expect(added).toContain("OPS_TOKEN=");
    expect(addSettings(added)).toBeUndefined();
    expect(removeSettings(added)).toEqual({ kind: "removed", content: host === "" ? null : host });
  });

  it("names only what the host does not have yet", () => {
    expect(addSettings("CRON_SECRET=\n")!.match(/^CRON_SECRET=/gm)).toHaveLength(1);
  });

  it("is left alone where the host edited the block", () => {
    const edited = addSettings("A=1\n")!.replace("OPS_TOKEN=", "OPS_TOKEN=abc");
    expect(removeSettings(edited)).toEqual({ kind: "edited", line: "OPS_TOKEN=abc" });
  });
});

describe("init and remove on a project", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const project = (files: Record<string, string>) => {
    root = mkdtempSync(path.join(tmpdir(), "export-ops-init-"));
    for (const [file, content] of Object.entries({ "package.json": "{}\n", ...files })) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content);
    }
  };
  const tree = (dir = root): Record<string, string> =>
    Object.fromEntries(
      readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory()
          ? Object.entries(tree(full)).map(([k, v]) => [`${name}/${k}`, v])
          : [[name, readFileSync(full, "utf8")]];
      }),
    );

  it("writes every route, the crons, the settings and the middleware's change; a second init changes nothing; remove restores the tree", () => {
    project({
      "app/page.tsx": "export default function Page() {}\n",
      "middleware.ts": STARTER_MIDDLEWARE,
      ".env.example": "NEXT_PUBLIC_SUPABASE_URL=\n",
    });
    const before = tree();
    const plan = planInit(root, { form: "crons" });
    expect(plan.problems).toEqual([]);
    expect(plan.changes.map((c) => `${c.action} ${c.file}`).sort()).toEqual(
      [...routeFiles().map((r) => `create app/${r.path}`), "create vercel.json", "update .env.example", "update middleware.ts"].sort(),
    );
    applyPlan(root, plan);
    expect(planInit(root, { form: "crons" }).changes).toEqual([]);
    const removal = planRemove(root, { form: "crons" });
    expect(removal.problems).toEqual([]);
    applyPlan(root, removal);
    expect(tree()).toEqual(before);
    expect(readdirSync(path.join(root, "app"))).toEqual(["page.tsx"]);
  });

  it("writes into src/app where the project keeps its app there", () => {
    project({ "src/app/page.tsx": "" });
    expect(planInit(root, { form: "crons" }).changes.filter((c) => c.file.startsWith("src/app/api/cron/"))).toHaveLength(jobs.length);
  });

  it("refuses, writing nothing, where a route's path holds a file of the host's", () => {
    project({ "app/api/health/route.ts": "export function GET() {}\n" });
    const plan = planInit(root, { form: "crons" });
    expect(plan.problems).toEqual([expect.stringContaining("app/api/health/route.ts exists")]);
    expect(() => applyPlan(root, plan)).toThrow();
  });

  it("keeps a route file of the host's that mounts export-ops' handler its own way, and goes on", () => {
    project({
      "app/api/health/route.ts":
        'import { healthRoute } from "export-ops/next";\nexport const runtime = "nodejs";\nexport const { GET } = healthRoute();\n',
    });
    const plan = planInit(root, { form: "crons" });
    expect(plan.problems).toEqual([]);
    expect(plan.notes).toContain("Kept app/api/health/route.ts: it mounts export-ops' handler as you wrote it.");
    expect(plan.changes.map((c) => c.file)).not.toContain("app/api/health/route.ts");
  });

  it("leaves the middleware alone with --skip-middleware, once the host let the paths through itself", () => {
    project({ "middleware.ts": "export function middleware() {}\n" });
    const plan = planInit(root, { form: "crons", skipMiddleware: true });
    expect(plan.problems).toEqual([]);
    expect(plan.changes.map((c) => c.file)).not.toContain("middleware.ts");
  });

  it("refuses to remove a route the host edited since, naming it", () => {
    project({});
    applyPlan(root, planInit(root, { form: "crons" }));
    writeFileSync(path.join(root, "app/api/metrics/route.ts"), "// mine now\n");
    expect(planRemove(root, { form: "crons" }).problems).toEqual([expect.stringContaining("app/api/metrics/route.ts was edited")]);
  });

  it("prints the change by hand and does not claim success for a middleware that runs on every path", () => {
    project({ "middleware.ts": "export function middleware() {}\n" });
    const plan = planInit(root, { form: "crons" });
    expect(plan.problems).toEqual([expect.stringMatching(/middleware\.ts is not edited: .*\n.*\/api\/cron\/export-\*/s)]);
  });
});
