#!/usr/bin/env bash
# End-to-end check of a running Printplane server with curl, trusting only its CA.
# Usage: scripts/e2e-server-curl.sh https://127.0.0.1:8443 DATA_DIR
# Creates a token, enrolls an agent, checks in twice (plan, then unchanged), uploads a job
# twice (stored once), uploads a driver and resumes its download with a Range.
set -euo pipefail
BASE=${1:?server URL}
DATA=${2:?data dir}
CA="$DATA/ca.pem"
ADMIN="Authorization: Bearer $(cat "$DATA/admin.key")"
command -v curl >/dev/null || { echo "curl is missing: apt-get install -y curl" >&2; exit 2; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
c() { curl --silent --show-error --cacert "$CA" --max-time 20 "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(c "$BASE/healthz")" = '{"status":"ok"}' ] || fail healthz
# Without --cacert the server certificate is not trusted.
if curl --silent --max-time 5 "$BASE/healthz" >/dev/null 2>&1; then fail "untrusted CA accepted"; fi

TOKEN=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"expires_in":"1h","max_uses":1,"label":"curl"}' "$BASE/api/v1/admin/tokens" | field "['token']")
ENROLL=$(c -X POST -H 'Content-Type: application/json' \
  -d "{\"token\":\"$TOKEN\",\"hostname\":\"curl-ws\",\"machine_id\":\"curl-machine\",\"os\":\"linux\",\"agent_version\":\"e2e\"}" "$BASE/api/v1/agent/enroll")
CRED=$(echo "$ENROLL" | field "['device_credential']")
AGENT="Authorization: Bearer $CRED"
REUSE=$(c -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d "{\"token\":\"$TOKEN\",\"hostname\":\"x\",\"machine_id\":\"y\",\"os\":\"linux\",\"agent_version\":\"e2e\"}" "$BASE/api/v1/agent/enroll")
[ "$REUSE" = 401 ] || fail "a used-up token was accepted ($REUSE)"

PRINTER=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"name":"curl-printer","address":"127.0.0.9","protocol":"raw"}' "$BASE/api/v1/admin/printers" | field "['id']")
c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d "{\"printer_id\":\"$PRINTER\",\"target\":{\"kind\":\"everyone\"}}" "$BASE/api/v1/admin/assignments" >/dev/null
PLAN=$(c -X POST -H "$AGENT" -H 'Content-Type: application/json' -d '{"user":"alice","ip_addresses":["10.0.0.5"],"installed":[]}' "$BASE/api/v1/agent/checkin")
[ "$(echo "$PLAN" | field "['status']")" = plan ] || fail "first check-in: $PLAN"
[ "$(echo "$PLAN" | field "['plan']['install'][0]")" = "$PRINTER" ] || fail "plan does not install the printer"
ETAG=$(echo "$PLAN" | field "['etag']")
AGAIN=$(c -X POST -H "$AGENT" -H 'Content-Type: application/json' -d "{\"user\":\"alice\",\"ip_addresses\":[\"10.0.0.5\"],\"installed\":[],\"plan_etag\":\"$ETAG\"}" "$BASE/api/v1/agent/checkin")
[ "$(echo "$AGAIN" | field "['status']")" = unchanged ] || fail "second check-in: $AGAIN"

JOB='{"jobs":[{"job_id":"curl-job-1","user":"alice","computer":"curl-ws","printer":"curl-printer","document_name":"a.pdf","pages":3,"copies":1,"color":true,"duplex":false,"bytes":100,"protocol":"raw","submitted_at":"2026-01-01T00:00:00Z","completed_at":"2026-01-01T00:00:02Z","outcome":"printed"}]}'
[ "$(c -X POST -H "$AGENT" -H 'Content-Type: application/json' -d "$JOB" "$BASE/api/v1/agent/jobs" | field "['accepted'][0]")" = curl-job-1 ] || fail "first job upload"
[ "$(c -X POST -H "$AGENT" -H 'Content-Type: application/json' -d "$JOB" "$BASE/api/v1/agent/jobs" | field "['duplicates'][0]")" = curl-job-1 ] || fail "repeat job upload"
[ "$(c -H "$ADMIN" "$BASE/api/v1/admin/reports/totals" | field "['jobs']")" = 1 ] || fail "job stored more than once"

head -c 300000 /dev/urandom > "$WORK/driver.bin"
SHA=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/driver.bin" \
  "$BASE/api/v1/admin/drivers?name=curl&version=1.0&os=linux" | field "['manifest']['manifest']['sha256']")
[ "$SHA" = "$(sha256sum "$WORK/driver.bin" | cut -d' ' -f1)" ] || fail "driver digest"
c -H "$AGENT" -r 0-99999 -o "$WORK/part" "$BASE/api/v1/drivers/$SHA"
c -H "$AGENT" -C 100000 -o "$WORK/part" "$BASE/api/v1/drivers/$SHA"
cmp "$WORK/part" "$WORK/driver.bin" || fail "resumed download differs"
[ "$(c -o /dev/null -w '%{http_code}' -H "$AGENT" -H "If-None-Match: \"$SHA\"" "$BASE/api/v1/drivers/$SHA")" = 304 ] || fail "If-None-Match"
[ "$(c -H 'Authorization: Bearer nope' "$BASE/api/v1/agent/ping" | field "['reason']")" = credential_malformed ] || fail "bad bearer"
echo "e2e: all curl checks passed"
