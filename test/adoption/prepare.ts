/**
 * Before `vitest --project adoption`: packs the export-ops package (lib/, built by its prepack) and
 * installs the host apps as a host would, each in a folder of its own outside this repository (./hosts.ts): its
 * sources (test/adoption/host-app), its own pinned dependencies from its lockfile (host-app, or host-app-latest for
 * the newest versions), then the packed export-ops tarball, which its lockfile does not record.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HOST_APP, HOST_APP_LATEST } from "./hosts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const sources = path.join(root, "test/adoption/host-app");
const SOURCES = ["app", "lib", "middleware.ts", "next.config.mjs", "tsconfig.json"];
const npm = (args: string[], cwd = root) => execFileSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

mkdirSync(path.join(root, ".pack"), { recursive: true });
const [packed] = JSON.parse(npm(["pack", "./lib", "--pack-destination", ".pack", "--json"])) as { filename: string }[];
const tarball = path.join(root, ".pack", packed!.filename);
for (const [dir, pins] of [
  [HOST_APP, sources],
  [HOST_APP_LATEST, path.join(root, "test/adoption/host-app-latest")],
] as const) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of SOURCES) cpSync(path.join(sources, name), path.join(dir, name), { recursive: true });
  for (const name of ["package.json", "package-lock.json"]) cpSync(path.join(pins, name), path.join(dir, name));
  npm(["ci"], dir);
  npm(["install", "--no-save", tarball], dir);
  process.stdout.write(`${dir}: installed, with ${path.relative(root, tarball)}\n`);
}
