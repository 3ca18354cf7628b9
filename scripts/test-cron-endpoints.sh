#!/usr/bin/env bash
# Smoke test of a deployment: every cron route answers 200 with the secret (in dry-run mode, so nothing changes:
# dry runs are kept in the run history, flagged, and never count as a job's last run or success) and 401 without
# it or with a wrong one; health answers; detailed health takes its own read-only HEALTH_TOKEN and refuses
# CRON_SECRET. One PASS/FAIL line per check; exits 1 on any failure.
#
#   scripts/test-cron-endpoints.sh https://your-app.vercel.app "$CRON_SECRET" ["$HEALTH_TOKEN"]
set -uo pipefail

base="${1:?usage: $0 BASE_URL CRON_SECRET}"
secret="${2:?usage: $0 BASE_URL CRON_SECRET}"
health_token="${3:-}"
base="${base%/}"
here="$(cd "$(dirname "$0")/.." && pwd)"
failures=0

# status of GET $1 with any further curl arguments
status() { curl -sS -o /dev/null -w '%{http_code}' --max-time 300 "$@" 2>/dev/null || echo 000; }

check() { # name expected actual
  if [[ " $2 " == *" $3 "* ]]; then echo "PASS: $1 (HTTP $3)"; else echo "FAIL: $1 (HTTP $3, expected $2)"; failures=$((failures + 1)); fi
}

# the cron routes, from vercel.json (the job registry keeps it in step)
mapfile -t routes < <(node -e 'for (const c of require(process.argv[1]).crons) console.log(c.path)' "$here/vercel.json")
[[ ${#routes[@]} -gt 0 ]] || { echo "FAIL: no cron routes found in vercel.json"; exit 1; }

for route in "${routes[@]}"; do
  check "$route with the secret, dry run" "200" "$(status -H "Authorization: Bearer $secret" "$base$route?dry_run=true")"
  check "$route without a bearer" "401" "$(status "$base$route?dry_run=true")"
  check "$route with a wrong bearer" "401" "$(status -H "Authorization: Bearer wrong-${RANDOM}-secret-value" "$base$route?dry_run=true")"
done
check "/api/health" "200" "$(status "$base/api/health")"
if [[ -n "$health_token" ]]; then
  check "/api/health/detailed with HEALTH_TOKEN answers" "200 503" "$(status -H "Authorization: Bearer $health_token" "$base/api/health/detailed")"
  check "/api/health/detailed without a bearer" "401" "$(status "$base/api/health/detailed")"
  check "/api/health/detailed refuses CRON_SECRET" "401" "$(status -H "Authorization: Bearer $secret" "$base/api/health/detailed")"
else
  check "/api/health/detailed is off without HEALTH_TOKEN, or refuses a caller without it" "404 401" "$(status "$base/api/health/detailed")"
fi

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "All checks passed"
