#!/bin/sh
# check-man.sh PAGE... - every manual page renders without a single warning from
# groff (-ww: all warnings) and from man(1) --warnings, and has the sections a
# reader looks for. TAP output.
set -u
n=0
fail=0
echo "1..$(($# * 3))"
for page in "$@"; do
	name=$(basename "$page")
	n=$((n + 1))
	out=$(groff -ww -z -t -man "$page" 2>&1)
	if [ $? = 0 ] && [ -z "$out" ]; then
		echo "ok $n - $name: groff -ww -z"
	else
		echo "not ok $n - $name: groff -ww -z"; printf '%s\n' "$out" | sed 's/^/# /'; fail=1
	fi
	n=$((n + 1))
	if command -v man >/dev/null 2>&1; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		if [ -z "$out" ]; then
			echo "ok $n - $name: man --warnings"
		else
			echo "not ok $n - $name: man --warnings"; printf '%s\n' "$out" | sed 's/^/# /'; fail=1
		fi
	else
		echo "ok $n - $name: man --warnings # SKIP man not installed"
	fi
	n=$((n + 1))
	missing=
	for s in NAME SYNOPSIS DESCRIPTION EXAMPLES "SEE ALSO"; do
		grep -q "^\.SH \"\{0,1\}$s\"\{0,1\}\$" "$page" || missing="$missing $s"
	done
	if [ -z "$missing" ]; then
		echo "ok $n - $name: NAME, SYNOPSIS, DESCRIPTION, EXAMPLES, SEE ALSO"
	else
		echo "not ok $n - $name: sections missing:$missing"; fail=1
	fi
done
exit $fail
