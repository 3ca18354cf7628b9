// Builds, packs and checks the export-ops package (lib/, a workspace of this repository):
//
//   node scripts/build-package.mjs [build]   lib/dist/ from lib/'s sources: one ES module per entry (esbuild; the
//                                            dependencies stay imports), declarations under dist/types (tsc, imports
//                                            ending in .js), migrations/ and uninstall.sql from supabase/, LICENSE
//                                            from the repository's root
//   node scripts/build-package.mjs prepack   the package's `prepack`: build, then its package.json without
//                                            `scripts` (they run this script, which only a checkout has)
//   node scripts/build-package.mjs postpack  the package's `postpack`: its package.json as it was
//   node scripts/build-package.mjs pack      `npm run pack`: .pack/export-ops-<version>.tgz
//   node scripts/build-package.mjs check     `npm run check:package`: packs, then lints the tarball (publint,
//                                            attw), runs `npm publish --dry-run` in it unpacked and in the package
//                                            folder, and fails on any problem or warning
//
// The package carries the SQL its `export-ops migrations` command writes into a host's folder. Whichever way it is
// packed (`npm run pack`, `npm pack ./lib`, `npm publish` in its folder), the tarball is the same.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(root, "lib");
const manifestFile = path.join(pkg, "package.json");
/** The package's own package.json while a pack is under way (its packed one has no `scripts`). */
const kept = path.join(root, "node_modules/.cache/export-ops-pack/package.json");
const packDir = path.join(root, ".pack");
const require = createRequire(import.meta.url);

/** The package's entry points: the host library, the App Router handlers, the command. */
const ENTRIES = { index: "index.ts", next: "next/index.ts", cli: "cli/cli.ts" };

async function build() {
  for (const dir of ["dist", "migrations"]) rmSync(path.join(pkg, dir), { recursive: true, force: true });
  // JavaScript: one ES module per entry, their shared code in chunks, dependencies left to node_modules
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(pkg, file)])),
    outdir: path.join(pkg, "dist"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
  });
  // Declarations, from the same sources; their relative imports get the `.js` (or `/index.js`) a host's
  // TypeScript needs under every moduleResolution
  const tsc = require.resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(pkg, "tsconfig.json")], { stdio: "inherit" });
  fixDeclarationImports(path.join(pkg, "dist/types"));
  mkdirSync(path.join(pkg, "migrations"));
  const sql = path.join(root, "supabase/migrations");
  for (const name of readdirSync(sql).filter((n) => n.endsWith(".sql")))
    copyFileSync(path.join(sql, name), path.join(pkg, "migrations", name));
  copyFileSync(path.join(root, "supabase/uninstall.sql"), path.join(pkg, "uninstall.sql"));
  // the package's LICENSE is the repository's (npm packs a LICENSE beside package.json whatever `files` says)
  copyFileSync(path.join(root, "LICENSE"), path.join(pkg, "LICENSE"));
}

function fixDeclarationImports(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fixDeclarationImports(file);
      continue;
    }
    if (!entry.name.endsWith(".d.ts")) continue;
    const text = readFileSync(file, "utf8").replace(/(from\s+|import\()"(\.{1,2}\/[^"]*)"/g, (whole, lead, spec) => {
      const base = path.resolve(dir, spec);
      if (existsSync(`${base}.d.ts`)) return `${lead}"${spec}.js"`;
      if (existsSync(path.join(base, "index.d.ts"))) return `${lead}"${spec}/index.js"`;
      return whole;
    });
    writeFileSync(file, text);
  }
}

async function prepack() {
  await build();
  // `prepack` and `postpack` run this script from a checkout: a packed package.json that kept them would fail
  // `npm publish` (or `npm pack`) in the unpacked package. Packed without them; `postpack` puts them back.
  const text = readFileSync(manifestFile, "utf8");
  mkdirSync(path.dirname(kept), { recursive: true });
  writeFileSync(kept, text);
  const { scripts: _scripts, ...packed } = JSON.parse(text);
  writeFileSync(manifestFile, `${JSON.stringify(packed, null, 2)}\n`);
}

/** The package's package.json as it was before `build`, if a pack left it without its scripts. */
function restore() {
  if (!existsSync(kept)) return;
  writeFileSync(manifestFile, readFileSync(kept, "utf8"));
  rmSync(kept);
}

const npm = (args, cwd = root) => spawnSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_color: "false" } });

/** Packs the package into .pack/ (creating it): its tarball's path and npm's report of it. */
function pack() {
  restore(); // a pack that stopped half-way must not leave the package without its build step
  mkdirSync(packDir, { recursive: true });
  const r = npm(["pack", "./lib", "--pack-destination", packDir, "--json"]);
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stdout}${r.stderr}`);
  const [report] = JSON.parse(r.stdout);
  return { tarball: path.join(packDir, report.filename), report };
}

const problems = [];
const step = (title) => process.stdout.write(`\n== ${title}\n`);
const fail = (message) => {
  problems.push(message);
  process.stdout.write(`FAIL ${message}\n`);
};
const warnings = (output) => output.split("\n").filter((l) => /^npm warn/i.test(l));

/**
 * `npm publish --dry-run` in `dir`: sends nothing (and, offline, asks the registry nothing). The placeholder token
 * stands for the maintainer's login, whose absence npm reports as a warning about the machine, not the package.
 */
function publishDryRun(dir) {
  const registry = "https://registry.npmjs.org/";
  const token = `--${registry.replace(/^https:/, "")}:_authToken=dry-run-placeholder`;
  const r = npm(["publish", "--dry-run", "--json", "--offline", `--registry=${registry}`, token], dir);
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) fail(`npm publish --dry-run in ${path.relative(root, dir)} failed:\n${output}`);
  for (const w of warnings(r.stderr)) fail(`npm publish --dry-run in ${path.relative(root, dir)}: ${w}`);
  const json = r.stdout.slice(r.stdout.indexOf("{"));
  const report = JSON.parse(json);
  return report[Object.keys(report)[0]] ?? report;
}

/**
 * Packs the package, and checks the pack left lib/package.json as it was: the tarball, npm's report of it, and
 * lib/package.json's text before the pack.
 */
function packForCheck() {
  step("npm pack");
  restore();
  const before = readFileSync(manifestFile, "utf8");
  const { tarball, report } = pack();
  process.stdout.write(`${path.relative(root, tarball)}: ${report.files.length} files, ${report.size} bytes, ${report.integrity}\n`);
  if (readFileSync(manifestFile, "utf8") !== before) fail("lib/package.json was not restored after the pack");
  return { tarball, report, before };
}

/**
 * Unpacks the tarball (removed on exit) and checks its files: the package's, and nothing else. Returns the unpacked
 * package's folder.
 */
function checkContents(tarball, report) {
  step("the tarball's contents");
  const unpacked = mkdtempSync(path.join(tmpdir(), "export-ops-check-"));
  process.on("exit", () => rmSync(unpacked, { recursive: true, force: true }));
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
  const dir = path.join(unpacked, "package");
  const files = report.files.map((f) => f.path);
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  if (manifest.scripts) fail(`the packed package.json has scripts: ${JSON.stringify(manifest.scripts)}`);
  if (
    !existsSync(path.join(dir, "LICENSE")) ||
    readFileSync(path.join(dir, "LICENSE"), "utf8") !== readFileSync(path.join(root, "LICENSE"), "utf8")
  ) {
    fail("the tarball's LICENSE is not the repository's");
  }
  const sql = readdirSync(path.join(root, "supabase/migrations")).filter((n) => n.endsWith(".sql"));
  const expected = [
    "LICENSE",
    "README.md",
    "package.json",
    "uninstall.sql",
    "dist/index.js",
    "dist/next.js",
    "dist/cli.js",
    "dist/types/index.d.ts",
    "dist/types/next/index.d.ts",
    ...sql.map((n) => `migrations/${n}`),
  ];
  for (const f of expected.filter((f) => !files.includes(f))) fail(`the tarball lacks ${f}`);
  const built = (f) => (/^dist\/chunks\/[\w-]+\.js$/.test(f) || /^dist\/types\/[\w/-]+\.d\.ts$/.test(f)) && !/\.test\./.test(f);
  for (const f of files.filter((f) => !expected.includes(f) && !built(f))) fail(`the tarball has ${f}, which is none of the package's`);
  process.stdout.write(
    `${files.length} files: package.json, README.md, LICENSE, dist/ (${files.filter(built).length}), migrations/ (${sql.length}), uninstall.sql\n`,
  );
  return dir;
}

/** publint on the tarball, at its strictest: every error, warning and suggestion is a problem. */
async function checkPublint(tarball) {
  step("publint");
  const { publint } = await import("publint");
  const { formatMessage } = await import("publint/utils");
  const content = readFileSync(tarball);
  const linted = await publint({
    pack: { tarball: content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength) },
    level: "suggestion",
    strict: true,
  });
  for (const m of linted.messages) fail(`publint ${m.type}: ${formatMessage(m, linted.pkg) ?? m.code}`);
  if (linted.messages.length === 0) process.stdout.write("no errors, warnings or suggestions\n");
}

/** attw on the tarball: the package's types under every resolution a host's TypeScript may use. */
function checkTypes(tarball) {
  step("attw (Are the types wrong?)");
  // Every resolution a host's TypeScript may use is checked, node10 (`moduleResolution: node`, as in Vercel's
  // starter) included, which the `node16` and `esm-only` profiles leave out. The one rule ignored is
  // `cjs-resolves-to-esm`: the package is ESM only, so a CommonJS `require` of it gets ESM on purpose.
  const attwBin = path.join(
    path.dirname(require.resolve("@arethetypeswrong/cli/package.json")),
    JSON.parse(readFileSync(require.resolve("@arethetypeswrong/cli/package.json"), "utf8")).bin.attw,
  );
  const attw = spawnSync(
    process.execPath,
    [attwBin, tarball, "--ignore-rules", "cjs-resolves-to-esm", "--format", "table-flipped", "--no-color", "--no-emoji"],
    { encoding: "utf8" },
  );
  process.stdout.write(attw.stdout + attw.stderr);
  if (attw.status !== 0) fail("attw found problems (above)");
}

/**
 * `npm publish --dry-run` in the unpacked tarball and in lib: both accepted, lib's sending the same tarball as
 * .pack's (`integrity`), and lib/package.json as it was (`before`) afterwards.
 */
function checkPublishDryRuns(dir, integrity, before) {
  step("npm publish --dry-run in the unpacked tarball");
  const fromTarball = publishDryRun(dir);
  process.stdout.write(`${fromTarball.id}: ${fromTarball.entryCount} files, ${fromTarball.integrity}\n`);

  step("npm publish --dry-run in lib");
  const fromFolder = publishDryRun(pkg);
  process.stdout.write(`${fromFolder.id}: ${fromFolder.entryCount} files, ${fromFolder.integrity}\n`);
  if (fromFolder.integrity !== integrity) fail("publishing from lib would send another tarball than .pack's");
  if (readFileSync(manifestFile, "utf8") !== before) fail("lib/package.json was not restored after npm publish --dry-run");
}

/** The problems found, listed: the check's exit code. */
function summarize(tarball) {
  step(problems.length === 0 ? `the package is ready to publish: ${path.relative(root, tarball)}` : `${problems.length} problem(s)`);
  for (const p of problems) process.stdout.write(`- ${p.split("\n")[0]}\n`);
  return problems.length === 0 ? 0 : 1;
}

async function check() {
  const { tarball, report, before } = packForCheck();
  const dir = checkContents(tarball, report);
  await checkPublint(tarball);
  checkTypes(tarball);
  checkPublishDryRuns(dir, report.integrity, before);
  return summarize(tarball);
}

const command = process.argv[2] ?? "build";
if (command === "build") await build();
else if (command === "prepack") await prepack();
else if (command === "postpack") restore();
else if (command === "pack") process.stdout.write(`${path.relative(root, pack().tarball)}\n`);
else if (command === "check") process.exitCode = await check();
else {
  process.stderr.write("usage: node scripts/build-package.mjs [build | prepack | postpack | pack | check]\n");
  process.exitCode = 2;
}
