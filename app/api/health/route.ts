// Liveness: answers without touching the database or any secret, so it is cheap to probe often.
// GET /api/health
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "ok", service: "export-ops", timestamp: new Date().toISOString() }, { headers: { "cache-control": "no-store" } });
}
