#!/bin/sh
# run-http.sh -- requests/s of GET /v1/suppression/{address} (bench/http_bench.py).
#   sh bench/run-http.sh [CONCURRENCY [SECONDS]]      (after make; build/ by default)
# Starts outpostd on loopback with a store of 100,000 suppressed addresses
# (bench000000..bench199998, every other one), a read token, one policy
# worker, and runs the client: half the lookups find an entry, half get 404.
set -eu
cd "$(dirname "$0")/.."
B=${OUTPOST_BUILD:-$(pwd)/build}
C=${1:-8}
S=${2:-10}
T=$(mktemp -d /tmp/outpost-http-bench.XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/outpost.conf" <<EOF
user = "";
pidfile = "run/outpostd.pid";
control_socket = "run/outpostd.ctl";
store = { path = "db"; map_size = "256M"; };
dns = { servers = [ "127.0.0.1:1" ]; };
policy = { listen = "inet:127.0.0.1:$PPORT"; workers = 1; };
milter = { listen = ""; };
http = { listen = "inet:127.0.0.1:$PORT"; };
EOF
mkdir -p "$T/run"
/usr/bin/python3 -c 'import sys
for i in range(0, 200000, 2): sys.stdout.write("bench%06d@bench.test,bounce\n" % i)' |
	"$B/src/outpostctl" -c "$T/outpost.conf" suppress import - --format csv >/dev/null
TOKEN=$("$B/src/outpostctl" -c "$T/outpost.conf" token add bench --scope read | tail -n 1)
"$B/src/outpostd" -c "$T/outpost.conf" -f >"$T/outpostd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT
i=0
until /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "outpostd did not start"; cat "$T/outpostd.log"; exit 1; }
	sleep 0.1
done
/usr/bin/python3 bench/http_bench.py "$PORT" "$TOKEN" "$C" "$S" 200000
