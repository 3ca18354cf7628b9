/**
 * What the adoption test does to a host app installed by ./prepare.ts: run its own tools, fingerprint its tree, start
 * it with `next start`, receive its alert webhook, and measure what export-ops adds to its build.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { freePort } from "../../scripts/local-stack";

/** The environment a host's own tools run with: nothing of this repository's. */
export const toolEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  NODE_ENV: "production",
  NEXT_TELEMETRY_DISABLED: "1",
});

/** A command in the host's folder: its exit code and everything it printed. */
export function runIn(dir: string, command: string, args: string[], timeout = 280_000): { code: number; out: string } {
  const r = spawnSync(command, args, { cwd: dir, encoding: "utf8", env: toolEnv(), timeout });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** One of the host's installed packages' scripts, run with this Node (`node node_modules/<script>`). */
export const nodeIn = (dir: string, script: string, args: string[]) =>
  runIn(dir, process.execPath, [path.join(dir, "node_modules", script), ...args]);

/** The installed export-ops command, as `npx export-ops` runs it. */
export const exportOps = (dir: string, args: string[]) => runIn(dir, path.join(dir, "node_modules/.bin/export-ops"), args);

export type Tree = Map<string, string>;

/**
 * The host's tree as relative path → content hash, without node_modules and .next (and, unless asked for, without
 * supabase/migrations, which remove leaves by design).
 */
export function treeOf(dir: string, options: { migrations: boolean }): Tree {
  const skip = new Set(["node_modules", ".next", ...(options.migrations ? [] : ["supabase/migrations"])]);
  const tree: Tree = new Map();
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const file = rel ? `${rel}/${entry.name}` : entry.name;
      if (skip.has(file)) continue;
      if (entry.isDirectory()) walk(file);
      else
        tree.set(
          file,
          createHash("sha256")
            .update(readFileSync(path.join(dir, file)))
            .digest("hex"),
        );
    }
  };
  walk("");
  return tree;
}

/** The paths added, deleted or changed between two trees, sorted. */
export function changedPaths(before: Tree, after: Tree): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

/** The files a run of init or remove says it wrote (`created x`, `changed x`, `deleted x`, or with --dry-run `would create x`, …). */
export function namedFiles(out: string): { action: string; file: string }[] {
  return [...out.matchAll(/^(?:would )?(created?|changed?|update|deleted?) (.+)$/gm)].map((m) => ({
    action: { create: "created", update: "changed", delete: "deleted" }[m[1]!] ?? m[1]!,
    file: m[2]!,
  }));
}

export interface HostServer {
  url: string;
  /** What the server printed, for a failure's message. */
  output(): string;
  stop(): void;
}

/** `next start` in the host's folder on a free port, in a process group of its own; ready once `/` answers 200. */
export async function startHost(dir: string, env: Record<string, string>): Promise<HostServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(dir, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"],
    {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...toolEnv(), ...env } as NodeJS.ProcessEnv,
    },
  );
  let printed = "";
  const keep = (chunk: Buffer) => void (printed = (printed + chunk.toString("utf8")).slice(-20_000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const stop = () => {
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", stop);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 120_000;
  while (
    !(await fetch(`${url}/`, { redirect: "manual" }).then(
      (r) => r.status === 200,
      () => false,
    ))
  ) {
    if (Date.now() > until || child.exitCode !== null) {
      stop();
      throw new Error(`next start did not answer / with 200 in ${dir}:\n${printed}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, output: () => printed, stop };
}

/** A local endpoint standing for the host's Slack-compatible alert webhook: every JSON body posted to it. */
export async function webhookReceiver(): Promise<{ url: string; bodies: Record<string, unknown>[]; close(): Promise<void> }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    req.on("end", () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}/hooks/alerts`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface RouteSize {
  /** The route's own output and everything its trace lists (`route.js.nft.json`): what Vercel puts in its function. */
  traced_bytes: number;
  traced_files: number;
  /** The same plus the Next server's own trace (`.next/next-server.js.nft.json`), which every function carries. */
  function_bytes: number;
}

/** Every App Router route of the host's build, by path, with the bytes its function carries. */
export function routeSizes(dir: string): Record<string, RouteSize> {
  const next = path.join(dir, ".next");
  const traced = (nft: string, also: string[] = []) => {
    const files = (JSON.parse(readFileSync(nft, "utf8")) as { files: string[] }).files.map((f) => path.resolve(path.dirname(nft), f));
    return new Set([...also, ...files].filter((f) => existsSync(f) && statSync(f).isFile()));
  };
  const bytes = (files: Set<string>) => [...files].reduce((sum, f) => sum + statSync(f).size, 0);
  const server = traced(path.join(next, "next-server.js.nft.json"));
  const sizes: Record<string, RouteSize> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(next, "server/app", rel), { withFileTypes: true })) {
      const file = path.join(next, "server/app", rel, entry.name);
      if (entry.isDirectory()) walk(path.join(rel, entry.name));
      else if (entry.name === "route.js.nft.json") {
        const own = traced(file, [file.replace(/\.nft\.json$/, "")]);
        sizes[`/${rel}`] = { traced_bytes: bytes(own), traced_files: own.size, function_bytes: bytes(new Set([...own, ...server])) };
      }
    }
  };
  walk("");
  return sizes;
}

/**
 * Milliseconds a fresh Node takes to load a built route: Next's route runtime, the route and everything it imports
 * (reading `routeModule.userland` evaluates the route's own module, which Turbopack's output defers until then).
 */
export function coldImportMs(dir: string, route: string): number {
  const script =
    `const t = performance.now(); const { routeModule } = require(${JSON.stringify(`./.next/server/app${route}/route.js`)});` +
    `const methods = Object.keys(routeModule.userland).filter((k) => /^[A-Z]+$/.test(k));` +
    `process.stdout.write(JSON.stringify({ ms: performance.now() - t, methods }));`;
  const r = spawnSync(process.execPath, ["--no-deprecation", "-e", script], {
    cwd: dir,
    encoding: "utf8",
    env: toolEnv(),
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`loading ${route}'s built module failed:\n${r.stderr}`);
  const { ms, methods } = JSON.parse(r.stdout) as { ms: number; methods: string[] };
  if (methods.length === 0) throw new Error(`${route}'s built module exports no handler`);
  return Math.round(ms);
}
