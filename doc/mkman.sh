#!/bin/sh
# mkman.sh -- a man page from its template and the program's own help, so the
# reference sections never drift from the code.
#
#   sh doc/mkman.sh conf TEMPLATE OUTPOSTD   > outpost.conf.5
#   sh doc/mkman.sh ctl  TEMPLATE OUTPOSTCTL > outpostctl.8
#
# The template's line "@REFERENCE@" is replaced by the list, in man(7) .TP
# paragraphs: every configuration key (outpostd -S) or every command
# (outpostctl --help).  Text is escaped for roff: backslashes, and a leading
# dot or quote.
set -eu
kind=$1 template=$2 prog=$3

case $kind in
conf) "$prog" -S >"${TMPDIR:-/tmp}/mkman.$$" ;;
ctl) "$prog" --help >"${TMPDIR:-/tmp}/mkman.$$" 2>&1 || true ;;
*) echo "mkman.sh: conf or ctl" >&2; exit 2 ;;
esac
trap 'rm -f "${TMPDIR:-/tmp}/mkman.$$"' EXIT

awk -v kind="$kind" -v ref="${TMPDIR:-/tmp}/mkman.$$" '
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.\047]/)
		s = "\\&" s
	return s
}
function reference(   line, key, def) {
	while ((getline line < ref) > 0) {
		if (kind == "conf") {
			if (line ~ /^[a-z_.]+ +default /) {
				key = line; sub(/ .*/, "", key)
				def = line; sub(/^[a-z_.]+ +default /, "", def)
				print ".TP"
				print ".B " esc(key)
				print "Default " esc(def) "."
			} else if (line ~ /^    /) {
				sub(/^ +/, "", line)
				print esc(line)
			}
		} else {
			if (line ~ /^  [a-z]/ && line !~ /^  -/) {
				sub(/^  /, "", line)
				print ".TP"
				print ".B " esc(line)
			} else if (line ~ /^      /) {
				sub(/^ +/, "", line)
				print esc(line)
			}
		}
	}
}
$0 == "@REFERENCE@" { reference(); next }
{ print }
' "$template"
