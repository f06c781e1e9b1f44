#!/bin/sh
# check_man.sh -- the man pages render with man -l, and groff finds nothing to warn about.
set -u
B=${OUTPOST_BUILD_DIR:-.}
fail=0
command -v man >/dev/null 2>&1 || { echo "check_man: man(1) is missing (Debian package man-db)"; exit 1; }
for p in doc/outpostd.8 doc/outpostctl.8 doc/outpost.conf.5; do
	f=$B/$p
	[ -f "$f" ] || f=$(dirname "$0")/../$p
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)
	text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null)
	warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
	case $text in
	*NAME*DESCRIPTION*) ;;
	*) echo "FAIL $p: no NAME and DESCRIPTION in man -l output"; fail=1; continue ;;
	esac
	if [ -n "$out$warn" ]; then
		echo "FAIL $p: $out $warn"
		fail=1
		continue
	fi
	echo "ok   $p: $(printf '%s\n' "$text" | wc -l) lines"
done
exit $fail
