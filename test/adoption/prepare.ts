/**
 * Before `vitest --project adoption`: packs the export-ops package (packages/export-ops, built by its prepack) and
 * installs the host app fixture (test/adoption/host-app) as a host would: its own pinned dependencies from its
 * lockfile, then the packed export-ops tarball, which its lockfile does not record.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const hostApp = path.join(root, "test/adoption/host-app");
const npm = (args: string[], cwd = root) => execFileSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

mkdirSync(path.join(root, ".pack"), { recursive: true });
const [packed] = JSON.parse(npm(["pack", "./packages/export-ops", "--pack-destination", ".pack", "--json"])) as { filename: string }[];
const tarball = path.join(root, ".pack", packed!.filename);
npm(["ci"], hostApp);
npm(["install", "--no-save", tarball], hostApp);
process.stdout.write(`host app installed with ${path.relative(root, tarball)}\n`);
