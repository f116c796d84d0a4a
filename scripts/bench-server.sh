#!/usr/bin/env bash
# Load figures for the Printplane server with wrk over TLS on loopback, each as a ratio
# against a reference measured in the same run (the machine is shared and noisy):
#   1. check-in "unchanged" path vs a trivial authenticated route (GET /api/v1/agent/ping)
#   2. a 50 MB driver downloaded by 200 concurrent clients vs nginx serving the same file over TLS,
#      with the server's peak RSS sampled every 0.5 s
#   3. the same driver from a LAN driver cache (`printplane cache run`) vs the same nginx,
#      with the cache's peak RSS
#   4. job ingest in batches of 100 records (records/s, checked against the stored count)
# Usage: [SKIP_BUILD=1] scripts/bench-server.sh [SECONDS_PER_RUN]   (default 10)
# Needs: wrk, nginx (nginx-light), curl, python3. Builds the release binary through the build lock.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=18443; NGINX_PORT=18444; CACHE_PORT=18445
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y wrk nginx-light curl python3" >&2; exit 2; }
done
LOCK=scripts/locked-build.sh; [ -x "$LOCK" ] || LOCK=/work/main/scripts/locked-build.sh
# SKIP_BUILD=1 reuses an existing release binary (e.g. while another build holds the lock).
# PRINTPLANE_BIN=path uses that binary instead (figures from a debug build mean nothing).
if [ -n "${PRINTPLANE_BIN:-}" ]; then
  BIN=$PRINTPLANE_BIN
else
  [ "${SKIP_BUILD:-0}" = 1 ] || "$LOCK" swift build -c release --product printplane >/dev/null
  BIN=$(swift build -c release --show-bin-path)/printplane
fi

W=$(mktemp -d /tmp/printplane-bench.XXXXXX)
SERVER_PID=""; NGINX_STARTED=""; CACHE_PID=""
cleanup() {
  [ -n "$CACHE_PID" ] && kill "$CACHE_PID" 2>/dev/null && wait "$CACHE_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$NGINX_STARTED" ] && [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

"$BIN" server --data-dir "$W/data" --listen "127.0.0.1:$PORT" --log-level warning \
  --checkin-soft-rate 1000000000 --checkin-hard-rate 1000000000 --max-downloads 256 >"$W/server.log" 2>&1 &
SERVER_PID=$!
BASE="https://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -sf --cacert "$W/data/ca.pem" "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
CA="$W/data/ca.pem"
ADMIN="Authorization: Bearer $(cat "$W/data/admin.key")"
c() { curl --silent --show-error --fail --cacert "$CA" --max-time 60 "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

TOKEN=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"expires_in":"1h"}' "$BASE/api/v1/admin/tokens" | field "['token']")
export CRED=$(c -X POST -H 'Content-Type: application/json' \
  -d "{\"token\":\"$TOKEN\",\"hostname\":\"bench-ws\",\"machine_id\":\"bench\",\"os\":\"linux\",\"agent_version\":\"bench\"}" \
  "$BASE/api/v1/agent/enroll" | field "['device_credential']")
PRINTER=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"name":"bench-printer","address":"127.0.0.9","protocol":"raw"}' "$BASE/api/v1/admin/printers" | field "['id']")
c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d "{\"printer_id\":\"$PRINTER\",\"target\":{\"kind\":\"everyone\"}}" "$BASE/api/v1/admin/assignments" >/dev/null
export ETAG=$(c -X POST -H "Authorization: Bearer $CRED" -H 'Content-Type: application/json' \
  -d '{"user":"alice","ip_addresses":["10.0.0.5"],"installed":[]}' "$BASE/api/v1/agent/checkin" | field "['etag']")

cat >"$W/checkin.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CRED")
wrk.body = '{"user":"alice","ip_addresses":["10.0.0.5"],"installed":[],"plan_etag":"' .. os.getenv("ETAG") .. '"}'
LUA
cat >"$W/auth.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CRED")
LUA
cat >"$W/ingest.lua" <<'LUA'
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("CRED") }
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format('{"job_id":"b-%d-%d-%d","user":"u%d","computer":"ws-%d","printer":"hq-%d","document_name":"doc.pdf","pages":%d,"copies":1,"color":%s,"duplex":true,"bytes":20480,"protocol":"raw","submitted_at":"2026-01-01T00:00:00Z","completed_at":"2026-01-01T00:00:03Z","outcome":"printed"}',
      tid, counter, i, i % 50, i % 20, i % 5, i % 9 + 1, (i % 3 == 0) and "true" or "false")
  end
  return wrk.format("POST", "/api/v1/agent/jobs", headers, '{"jobs":[' .. table.concat(parts, ",") .. ']}')
end
LUA

rps() { grep "Requests/sec" "$1" | awk '{print $2}'; }
tps() { python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", text)
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]
print(float(m.group(1)) * scale / 1024**2)
PY
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "== check-in unchanged path vs trivial authenticated route (${DURATION}s each, 2 threads, 64 connections)"
wrk -t2 -c64 -d"${DURATION}s" -s "$W/auth.lua" "$BASE/api/v1/agent/ping" >"$W/ping.txt"
wrk -t2 -c64 -d"${DURATION}s" -s "$W/checkin.lua" "$BASE/api/v1/agent/checkin" >"$W/checkin.txt"
PING=$(rps "$W/ping.txt"); CHECKIN=$(rps "$W/checkin.txt")
NON2XX=$(grep -h "Non-2xx" "$W/ping.txt" "$W/checkin.txt" || true)
echo "ping: $PING req/s   check-in (unchanged): $CHECKIN req/s   ratio: $(ratio "$CHECKIN" "$PING") (target >= 0.7) ${NON2XX:+[$NON2XX]}"
c "$BASE/metrics" | grep -E "^printplane_checkin_(unchanged_)?total" | tr '\n' ' '; echo

echo "== 50 MB driver, 200 concurrent clients: printplane vs nginx over TLS (${DURATION}s each)"
mkdir -p "$W/files"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$W/files/driver.bin"
SHA=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/octet-stream' --data-binary "@$W/files/driver.bin" \
  "$BASE/api/v1/admin/drivers?name=bench&version=1&os=windows" | field "['manifest']['manifest']['sha256']")
cat >"$W/nginx.conf" <<NGINX
daemon on;
user root;
worker_processes auto;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $W/nginx-body; proxy_temp_path $W/nginx-proxy; fastcgi_temp_path $W/nginx-fcgi;
  uwsgi_temp_path $W/nginx-uwsgi; scgi_temp_path $W/nginx-scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $W/data/server.pem;
    ssl_certificate_key $W/data/server-key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /drivers/ { alias $W/files/; }
  }
}
NGINX
nginx -c "$W/nginx.conf"; NGINX_STARTED=1
sleep 0.5
[ "$(curl -s --cacert "$CA" "https://127.0.0.1:$NGINX_PORT/drivers/driver.bin" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "nginx serves different bytes" >&2; exit 1; }
[ "$(c -H "Authorization: Bearer $CRED" "$BASE/api/v1/drivers/$SHA" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "server serves different bytes" >&2; exit 1; }

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$SERVER_PID/status"; }
RSS_BEFORE=$(rss)
( peak=0; while kill -0 "$SERVER_PID" 2>/dev/null && [ ! -f "$W/stop-rss" ]; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$W/rss-peak"; sleep 0.5; done ) &
RSS_SAMPLER=$!
wrk -t2 -c200 -d"${DURATION}s" --timeout 60s -s "$W/auth.lua" "$BASE/api/v1/drivers/$SHA" >"$W/driver.txt"
touch "$W/stop-rss"; wait "$RSS_SAMPLER" 2>/dev/null || true
RSS_AFTER=$(rss)
wrk -t2 -c200 -d"${DURATION}s" --timeout 60s "https://127.0.0.1:$NGINX_PORT/drivers/driver.bin" >"$W/nginx.txt"
OURS=$(tps "$W/driver.txt"); THEIRS=$(tps "$W/nginx.txt")
echo "printplane: $(printf '%.0f' "$OURS") MiB/s   nginx: $(printf '%.0f' "$THEIRS") MiB/s   ratio: $(ratio "$OURS" "$THEIRS") (target >= 0.7)"
echo "server RSS: before ${RSS_BEFORE} MiB, peak $(cat "$W/rss-peak") MiB, after ${RSS_AFTER} MiB (target: flat, < 300 MiB)"
grep -h "Non-2xx\|Socket errors" "$W/driver.txt" "$W/nginx.txt" || true

echo "== the same driver from a LAN driver cache vs nginx over TLS (${DURATION}s, 200 clients)"
# The cache listens on 127.0.0.2: the CA certifies a cache only for its registered host, never
# for one of the server's own names (127.0.0.1).
CACHE_TOKEN=$(c -X POST -H "$ADMIN" -H 'Content-Type: application/json' -d '{"expires_in":"1h","max_uses":1}' "$BASE/api/v1/admin/tokens" | field "['token']")
CACHE_AGENT=$("$BIN" cache enroll --server "$BASE" --ca-file "$CA" --token "$CACHE_TOKEN" --state-dir "$W/cache" --hostname bench-cache | tail -1)
c -X POST -H "$ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench\",\"url\":\"https://127.0.0.2:$CACHE_PORT\",\"agent_id\":\"$CACHE_AGENT\",\"ranges\":[\"10.0.0.0/8\"]}" \
  "$BASE/api/v1/admin/caches" >/dev/null
"$BIN" cache run --state-dir "$W/cache" --listen "127.0.0.2:$CACHE_PORT" --log-level warning >"$W/cache.log" 2>&1 &
CACHE_PID=$!
CACHE="https://127.0.0.2:$CACHE_PORT"
for _ in $(seq 1 200); do curl -sf --cacert "$CA" "$CACHE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# The first request is the miss: the cache fetches and verifies the package from the cloud once.
[ "$(c "$CACHE/drivers/$SHA" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "the cache serves different bytes" >&2; cat "$W/cache.log" >&2; exit 1; }
cache_rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$CACHE_PID/status"; }
CACHE_RSS_BEFORE=$(cache_rss)
rm -f "$W/stop-rss"
( peak=0; while kill -0 "$CACHE_PID" 2>/dev/null && [ ! -f "$W/stop-rss" ]; do r=$(cache_rss); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$W/cache-rss-peak"; sleep 0.5; done ) &
RSS_SAMPLER=$!
wrk -t2 -c200 -d"${DURATION}s" --timeout 60s "$CACHE/drivers/$SHA" >"$W/cache.txt"
touch "$W/stop-rss"; wait "$RSS_SAMPLER" 2>/dev/null || true
wrk -t2 -c200 -d"${DURATION}s" --timeout 60s "https://127.0.0.1:$NGINX_PORT/drivers/driver.bin" >"$W/nginx2.txt"
CACHED=$(tps "$W/cache.txt"); THEIRS2=$(tps "$W/nginx2.txt")
echo "cache: $(printf '%.0f' "$CACHED") MiB/s   nginx: $(printf '%.0f' "$THEIRS2") MiB/s   ratio: $(ratio "$CACHED" "$THEIRS2") (target >= 0.7)"
echo "cache RSS: before ${CACHE_RSS_BEFORE} MiB, peak $(cat "$W/cache-rss-peak") MiB; upstream fetches: $(c "$CACHE/metrics" | awk '/^printplane_cache_upstream_fetches_total/ {print $2}') (target: 1)"
grep -h "Non-2xx\|Socket errors" "$W/cache.txt" "$W/nginx2.txt" || true

echo "== job ingest, batches of 100 records (${DURATION}s, 2 threads, 16 connections)"
wrk -t2 -c16 -d"${DURATION}s" --timeout 30s -s "$W/ingest.lua" "$BASE/api/v1/agent/jobs" >"$W/ingest.txt"
STORED=$(c -H "$ADMIN" "$BASE/api/v1/admin/reports/totals" | field "['jobs']")
BATCHES=$(rps "$W/ingest.txt")
echo "batches: $BATCHES/s = $(python3 -c "print(int($BATCHES*100))") records/s (target >= 20000); stored: $STORED records = $(python3 -c "print(int($STORED/$DURATION))") records/s over the run"
grep -h "Non-2xx\|Socket errors" "$W/ingest.txt" || true
