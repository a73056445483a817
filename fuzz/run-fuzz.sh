#!/bin/sh
# run-fuzz.sh TARGET SEED_CORPUS - one time-bounded libFuzzer run (the "fuzz" suite).
# New inputs go to a scratch corpus, never into the seed corpus in the source tree.
# FUZZ_SECONDS (default 20) bounds the run; a crash fails the test, and libFuzzer
# leaves the reproducer in the scratch dir's parent as crash-*; we print its path.
set -eu
target=$1
seeds=$2
seconds=${FUZZ_SECONDS:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/roamvpn-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
rc=0
"$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
	-rss_limit_mb=2048 -timeout=10 "$work/corpus" "$seeds" >"$work/log" 2>&1 || rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|Done [0-9]+ runs)' "$work/log" || true
if [ "$rc" != 0 ]; then
	tail -n 60 "$work/log"
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] || continue
		keep="${TMPDIR:-/tmp}/$(basename "$target")-$(basename "$f")"
		cp "$f" "$keep"
		echo "reproducer kept: $keep"
	done
fi
exit "$rc"
