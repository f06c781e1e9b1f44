#!/bin/sh
# dev.sh -- the README's two commands.
#   ./dev.sh run    install build dependencies, build, run outpostd in the
#                   foreground on etc/outpost.conf with state under ./var
#   ./dev.sh test   install build and test dependencies, build, run every test
# Run as root on Debian 12 (apt-get installs what is missing).
set -eu
cd "$(dirname "$0")"

BUILD_PKGS="autoconf automake libtool pkg-config make gcc libconfig-dev liblmdb-dev
 libc-ares-dev libmilter-dev libevent-dev libjansson-dev libjs-chart.js libhiredis-dev"
TEST_PKGS="libcmocka-dev lmdb-utils python3 python3-aiosmtpd postfix swaks clang
 libclang-rt-14-dev valgrind miltertest man-db
 sendmail-cf nsd python3-yaml chromium chromium-driver python3-selenium
 redis-server redis-sentinel redis-tools"

# Install the Debian packages in $* that are not installed yet.
need() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "dev.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not configure (or start) the system's own instance.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
}

# Out of tree in build/, so that tests can add other build trees (build-asan/).
build() {
	[ -x configure ] || autoreconf -fi
	mkdir -p build
	[ -f build/Makefile ] || (cd build && ../configure --enable-werror)
	make -C build -j"$(nproc)"
}

case "${1:-}" in
run)
	need $BUILD_PKGS
	build
	mkdir -p var
	exec ./build/src/outpostd -f -c etc/outpost.conf
	;;
test)
	need $BUILD_PKGS $TEST_PKGS
	build
	exec ./tests/run-all.sh
	;;
*)
	echo "usage: ./dev.sh run | test" >&2
	exit 2
	;;
esac
