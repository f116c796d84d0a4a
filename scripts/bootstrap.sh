#!/usr/bin/env bash
# Installs the Debian packages Printplane's build, tests and real-peer interop need.
# Idempotent: quiet and fast when everything is already there.
set -euo pipefail

# package -> a file or command that proves it is installed
declare -A PROBES=(
  [libpcap-dev]=/usr/include/pcap/pcap.h
  [cups]=/usr/lib/cups/backend-available/socket
  [cups-daemon]=/usr/lib/cups/daemon/cups-lpd
  [ghostscript]=/usr/bin/gs
  [poppler-utils]=/usr/bin/pdfinfo
  [cups-filters]=/usr/lib/cups/filter/gstopxl
  [cups-client]=/usr/sbin/lpadmin
  [cups-ipp-utils]=/usr/sbin/ippeveprinter
  [ldap-utils]=/usr/bin/ldapsearch
  [slapd]=/usr/sbin/slapd
  [tshark]=/usr/bin/tshark
  [nginx-light]=/usr/sbin/nginx
  [wrk]=/usr/bin/wrk
  [curl]=/usr/bin/curl
  [iproute2]=/usr/sbin/ip
  [openssl]=/usr/bin/openssl
  [util-linux]=/usr/bin/setpriv
  [libsqlite3-dev]=/usr/include/sqlite3.h
  [postgresql]=/usr/lib/postgresql
  # The admin console's real peer: headless Chromium driven by Selenium (run with /usr/bin/python3).
  [chromium]=/usr/bin/chromium
  [chromium-driver]=/usr/bin/chromedriver
  [python3-selenium]=/usr/lib/python3/dist-packages/selenium
)

missing=()
for pkg in "${!PROBES[@]}"; do
  [ -e "${PROBES[$pkg]}" ] || missing+=("$pkg")
done
# The CUPS backends ship in the cups package (backend-available/, linked into
# backend/ by its postinst).
for f in /usr/lib/cups/backend/socket /usr/lib/cups/backend/lpd; do
  [ -e "$f" ] || missing+=(cups)
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

# Keep maintainer scripts from starting daemons (cupsd, slapd, nginx) on install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT

echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
echo "bootstrap: done" >&2
