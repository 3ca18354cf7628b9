/**
 * The page works in any host app because it brings no framework of its own: nothing the handler reaches, directly
 * or through another module, imports Next, React or a chart library.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");

/** Every package reached from `start` through local imports (type-only imports left out: they vanish at build). */
function packagesReached(start: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    const specs = [...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm), ...source.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
    for (const spec of specs) {
      if (!spec.startsWith(".") && !spec.startsWith("@/")) {
        if (!packages.has(spec)) packages.set(spec, path.relative(root, file));
        continue;
      }
      const base = spec.startsWith("@/") ? path.join(root, spec.slice(2)) : path.resolve(path.dirname(file), spec);
      const found = [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find((f) => existsSync(f) && statSync(f).isFile());
      if (!found) throw new Error(`${file}: cannot resolve ${spec}`);
      walk(found);
    }
  };
  walk(path.join(root, start));
  return packages;
}

describe("the ops page's imports", () => {
  it("reach neither Next, React nor a chart library, from the handler or the mounted route file", () => {
    for (const start of ["lib/ops-page/route.ts", "app/ops/[[...path]]/route.ts"]) {
      const reached = packagesReached(start);
      expect(reached.size).toBeGreaterThan(0);
      const framework = [...reached].filter(([pkg]) => /^(next|react|react-dom|react-is|recharts)(\/|$)/.test(pkg));
      expect(framework.map(([pkg, from]) => `${pkg} from ${from}`)).toEqual([]);
    }
  });
});
