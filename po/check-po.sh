#!/bin/sh
# check-po.sh SRCDIR - every translation is complete for the sources as they are:
# the messages are extracted afresh from POTFILES.in (same keywords as
# po/meson.build), each po/LANG.po is merged with them, and msgfmt -c
# --statistics must report no fuzzy and no untranslated message (and no format
# mismatch). A string added without a translation fails here. TAP output.
set -u
src=${1:?usage: check-po.sh SRCDIR}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 1
grep -v '^#' po/POTFILES.in | grep . >"$tmp/files"
xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
	--keyword=NC_:1c,2 --keyword=g_dngettext:2,3 --keyword=rv_ini_error:4 \
	--keyword=rv_ini_bad_value:2 --keyword=rv_ini_value_error:2 --keyword=T_ \
	--flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
	-f "$tmp/files" -o "$tmp/roamvpn.pot" || { echo "1..1"; echo "not ok 1 - xgettext"; exit 1; }
langs=$(grep -v '^#' po/LINGUAS)
set -- $langs
echo "1..$(($# * 2 + 1))"
n=0
fail=0
# Every source file with a translatable message is listed (else po-complete
# would not see its messages at all).
n=$((n + 1))
grep -lE '(^|[^A-Za-z0-9_])(_|N_|T_)\("|rv_ini_(error|bad_value|value_error)\(' \
	client/*.c daemon/*.c engine/*.c hooks/*.c plugins/*.c applet/*.c 2>/dev/null | sort >"$tmp/marked"
sort "$tmp/files" >"$tmp/listed"
unlisted=$(comm -23 "$tmp/marked" "$tmp/listed" | tr '\n' ' ')
if [ -z "$unlisted" ]; then
	echo "ok $n - every source file with translatable messages is in POTFILES.in"
else
	echo "not ok $n - not in POTFILES.in: $unlisted"; fail=1
fi
for lang in $langs; do
	n=$((n + 1))
	out=$(msgfmt -c --statistics -o /dev/null "po/$lang.po" 2>&1)
	if [ $? = 0 ] && ! printf '%s' "$out" | grep -qE 'fuzzy|untranslated'; then
		echo "ok $n - $lang.po: msgfmt -c: $out"
	else
		echo "not ok $n - $lang.po: msgfmt -c: $out"; fail=1
	fi
	n=$((n + 1))
	msgmerge --quiet --no-fuzzy-matching -o "$tmp/$lang.po" "po/$lang.po" "$tmp/roamvpn.pot" 2>/dev/null
	out=$(msgfmt -c --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
	if [ $? = 0 ] && ! printf '%s' "$out" | grep -qE 'fuzzy|untranslated'; then
		echo "ok $n - $lang.po covers every message of the sources: $out"
	else
		echo "not ok $n - $lang.po against the sources: $out"
		msgattrib --untranslated --no-obsolete "$tmp/$lang.po" 2>/dev/null | grep '^msgid' | sed 's/^/# /' | head -20
		fail=1
	fi
done
exit $fail
