#!/usr/bin/env bash
# The main job, end to end on embedded defaults: start a fake network printer, print real
# PostScript, PDF and PCL documents to it with the CUPS socket (RAW 9100) and lpd (LPR 515)
# backends, then read back what it recorded over its HTTP/JSON endpoint.
# Exits non-zero if any job is missing or miscounted.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(swift build --show-bin-path)/printplane
work=$(mktemp -d)
raw_port=${RAW_PORT:-19100}
lpd_port=${LPD_PORT:-10515}
http_port=${HTTP_PORT:-19180}
printer_pid=""
cleanup() { [ -n "$printer_pid" ] && kill "$printer_pid" 2>/dev/null && wait "$printer_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "demo: starting a fake printer on 127.0.0.1 (RAW $raw_port, LPD $lpd_port, HTTP $http_port)"
"$bin" printer --listen 127.0.0.1 --raw-port "$raw_port" --lpd-port "$lpd_port" --http-port "$http_port" \
  --spool "$work/spool" --log-level notice &
printer_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "demo: making documents with ghostscript (3 pages each)"
cat > "$work/source.ps" <<'PS'
%!PS
1 1 3 { /n exch def /Helvetica findfont 36 scalefont setfont 72 700 moveto (Printplane demo page ) show n 3 string cvs show showpage } for
PS
gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=ps2write -o "$work/demo.ps" "$work/source.ps"
gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -o "$work/demo.pdf" "$work/source.ps"
gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=ljet4 -r150 -o "$work/demo.pcl" "$work/source.ps"

echo "demo: printing with the CUPS socket backend (RAW)"
for f in demo.ps demo.pdf demo.pcl; do
  DEVICE_URI="socket://127.0.0.1:$raw_port" /usr/lib/cups/backend/socket 1 alice "$f" 1 "" "$work/$f" 2>/dev/null
done
echo "demo: printing with the CUPS lpd backend (LPR), 2 copies"
DEVICE_URI="lpd://127.0.0.1:$lpd_port/passthru?manual_copies=no" /usr/lib/cups/backend/lpd 2 bob "quarterly.pdf" 2 "" "$work/demo.pdf" 2>/dev/null

echo "demo: what the printer recorded (GET /printers/0/jobs):"
curl -fs "http://127.0.0.1:$http_port/printers/0/jobs" > "$work/jobs.json"
python3 - "$work/jobs.json" <<'PY'
import json, sys
jobs = json.load(open(sys.argv[1]))
row = "  {:>3} {:4} {:6} {:14} {:10} {:>5} {:>6} {:>8}"
print(row.format("id", "via", "user", "name", "language", "pages", "copies", "bytes"))
for j in jobs:
    d = j["documents"][0]
    print(row.format(j["id"], j["transport"], j.get("user") or "-", (j.get("job_name") or "-")[:14],
                     d["language"], str(d["pages"]), d["copies"], j["bytes"]))
got = [j["documents"][0]["pages"] for j in jobs]
impressions = sum(j["impressions"] or 0 for j in jobs)
if got != [3, 3, 3, 3] or impressions != 15:
    sys.exit(f"demo: FAILED: pages {got}, impressions {impressions} (expected [3, 3, 3, 3] and 15)")
print(f"demo: OK: 4 jobs, {impressions} impressions, every page count right")
PY
echo "demo: PJL status readback on the back channel:"
printf '\033%%-12345X@PJL INFO STATUS\r\n@PJL INFO PAGECOUNT\r\n\033%%-12345X' > "$work/query"
python3 - "$raw_port" "$work/query" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(open(sys.argv[2], "rb").read()); s.shutdown(socket.SHUT_WR)
data = b""
while chunk := s.recv(4096): data += chunk
for reply in data.decode().split("\f"):
    if reply.strip(): print("  " + reply.strip().replace("\r\n", " | "))
PY
