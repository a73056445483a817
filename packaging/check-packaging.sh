#!/bin/bash
# check-packaging.sh SRCDIR - the Gentoo ebuild and debian/rules agree with the
# build: the ebuild parses, every USE flag but test is described in metadata.xml
# (and the other way round), and every -D option that the ebuild and debian/rules
# pass exists in meson_options.txt (or is one of meson's own). TAP output.
set -u
src=${1:?usage: check-packaging.sh SRCDIR}
ebuild=$src/packaging/gentoo/net-vpn/roamvpn/roamvpn-9999.ebuild
meta=$src/packaging/gentoo/net-vpn/roamvpn/metadata.xml
n=0
fail=0
t() { local d=$1; shift; n=$((n + 1)); if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fail=1; fi; }
builtin_opt() { case $1 in werror|buildtype|prefix|libexecdir|sysconfdir|b_*) return 0 ;; esac; return 1; }
known_opt() { builtin_opt "$1" || grep -q "^option('$1'" "$src/meson_options.txt"; }

echo "1..6"
t "the ebuild parses (bash -n)" bash -n "$ebuild"
iuse=$(bash -c 'inherit() { :; }; . "$1"; echo "$IUSE"' sh "$ebuild" 2>/dev/null | tr ' ' '\n' | sed 's/^[+-]//' | grep . | sort)
described=$(grep -o '<flag name="[^"]*"' "$meta" | sed 's/<flag name="//; s/"//' | sort)
t "IUSE has systemd, openrc (default on), vpnc, pptp, applet, test" \
	sh -c "for f in applet openrc pptp systemd test vpnc; do echo '$iuse' | grep -qx \$f || exit 1; done; grep -q '+openrc' '$ebuild'"
t "every USE flag but test is in metadata.xml, and no other" \
	[ "$(echo "$iuse" | grep -vx test)" = "$described" ]
# -Dname= options, and meson_feature USE [name]
opts=$(grep -oE -- '-D[a-z_]+=' "$ebuild" | sed 's/^-D//; s/=$//'
	grep -oE 'meson_feature [a-z_]+( [a-z_]+)?' "$ebuild" | awk '{ print ($3 != "") ? $3 : $2 }')
missing=
for o in $opts; do known_opt "$o" || missing="$missing $o"; done
t "every meson option the ebuild passes exists${missing:+ (missing:$missing)}" [ -z "$missing" ]
missing=
for o in $(grep -oE -- '-D[a-z_]+=' "$src/debian/rules" | sed 's/^-D//; s/=$//'); do
	known_opt "$o" || missing="$missing $o"
done
t "every meson option debian/rules passes exists${missing:+ (missing:$missing)}" [ -z "$missing" ]
t "debian/control builds with debhelper-compat 13" grep -q 'debhelper-compat (= 13)' "$src/debian/control"
exit $fail
