/**
 * Before `vitest --project adoption`: packs the export-ops package (lib/, built by its prepack) and installs the
 * host apps as a host would, each in a folder of its own outside this repository (./hosts.ts): its sources
 * (test/adoption/host-app, with its own migration in supabase/migrations), its own pinned dependencies from its
 * lockfile (host-app, or host-app-latest for the newest versions), then the packed tarball, copied into the app and
 * installed with `npm install ./export-ops-<version>.tgz` as docs/ADOPTING.md says (package.json and the lockfile
 * record it). The lockfile as `npm ci` left it is kept beside the app, for the test to check that no entry of the
 * host's changed; what the install added (bytes on disk, packages) goes to .adoption-figures.json.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FIGURES, HOST_APP, HOST_APP_LATEST, HOST_MIGRATION, lockBeforeExportOps, recordFigures, recordRunFigure } from "./hosts";

const started = performance.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const sources = path.join(root, "test/adoption/host-app");
const SOURCES = ["app", "lib", "middleware.ts", "next.config.mjs", "tsconfig.json", ".env.example"];
const npm = (args: string[], cwd = root) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

/** Bytes under a folder, as `du` counts them (apparent sizes, each hard-linked file once). */
const bytesUnder = (dir: string) =>
  Number(execFileSync("du", ["-s", "--apparent-size", "--block-size=1", dir], { encoding: "utf8" }).split("\t")[0]);
/** The installed packages a lockfile records (its `node_modules/…` entries, nested ones included). */
const lockedPackages = (lock: string) =>
  Object.keys((JSON.parse(lock) as { packages: Record<string, unknown> }).packages).filter((k) => k.includes("node_modules/"));

rmSync(FIGURES, { force: true });
mkdirSync(path.join(root, ".pack"), { recursive: true });
const [packed] = JSON.parse(npm(["pack", "./lib", "--pack-destination", ".pack", "--json"])) as {
  filename: string;
  size: number;
  unpackedSize: number;
}[];
const tarball = path.join(root, ".pack", packed!.filename);
for (const [dir, pins] of [
  [HOST_APP, sources],
  [HOST_APP_LATEST, path.join(root, "test/adoption/host-app-latest")],
] as const) {
  const name = path.basename(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of SOURCES) cpSync(path.join(sources, file), path.join(dir, file), { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) cpSync(path.join(pins, file), path.join(dir, file));
  mkdirSync(path.dirname(path.join(dir, HOST_MIGRATION)), { recursive: true });
  copyFileSync(path.join(root, "test/fixtures/host-app.sql"), path.join(dir, HOST_MIGRATION));
  npm(["ci"], dir);

  const lockBefore = readFileSync(path.join(dir, "package-lock.json"), "utf8");
  writeFileSync(lockBeforeExportOps(dir), lockBefore);
  const bytesBefore = bytesUnder(path.join(dir, "node_modules"));
  copyFileSync(tarball, path.join(dir, packed!.filename));
  npm(["install", `./${packed!.filename}`], dir);
  const lockAfter = readFileSync(path.join(dir, "package-lock.json"), "utf8");
  const before = new Set(lockedPackages(lockBefore));
  const added = lockedPackages(lockAfter).filter((k) => !before.has(k));
  recordFigures(name, "install", {
    tarball: { file: packed!.filename, bytes: packed!.size, unpacked_bytes: packed!.unpackedSize },
    node_modules_bytes_before: bytesBefore,
    node_modules_bytes_added: bytesUnder(path.join(dir, "node_modules")) - bytesBefore,
    packages_added: added.length,
    packages: added.map((k) => k.replace(/^node_modules\//, "")).sort(),
  });
  process.stdout.write(`${dir}: installed, with ${packed!.filename} (${added.length} packages added)\n`);
}
recordRunFigure("prepare_seconds", Math.round((performance.now() - started) / 1000));
