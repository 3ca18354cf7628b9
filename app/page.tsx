import { jobs } from "@/lib/jobs";

export default function Home() {
  return (
    <main style={{ maxWidth: 760 }}>
      <h1>export-ops</h1>
      <p>Scheduled cleanup, metrics and alerting for file exports. The jobs run as Vercel Cron routes:</p>
      <ul>
        {jobs.map((job) => (
          <li key={job.id}>
            <code>GET /api/cron/{job.id}</code> at <code>{job.schedule}</code> (UTC): {job.description}
          </li>
        ))}
      </ul>
      <p>
        Liveness: <code>GET /api/health</code>. Operators: the <a href="/ops">ops page</a> (sign in with OPS_TOKEN).
      </p>
    </main>
  );
}
