#!/bin/bash
# install-layout.sh - the README's "From source" install, as written: a build with
# --prefix=/usr --sysconfdir=/etc installed into a DESTDIR puts every file where
# the README and the man pages say (configuration in /etc/roamvpn, helpers in
# /usr/libexec/roamvpn, the OpenRC and netifrc files when asked for), and a build
# with meson's default prefix reads /usr/local/etc/roamvpn while its D-Bus policy
# still goes where the system bus looks. Needs no root. Suite "package" (two
# builds of the tree: a few minutes on a loaded machine).
set -u
SRC=${ROAMVPN_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
for p in meson ninja; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
T=$(mktemp -d /tmp/rvinst.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok:   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

common=(-Dnetns_tests=false -Dvm_tests=disabled -Dapplet=disabled -Dwerror=true)

# --- the packagers' layout --------------------------------------------------------
if meson setup "$T/b" "$SRC" --prefix=/usr --sysconfdir=/etc "${common[@]}" \
	-Dsystemd=enabled -Dopenrc=enabled -Dnetifrc=enabled -Dman=enabled -Dcompletion=enabled \
	>"$T/setup.log" 2>&1 &&
   nice -n 10 ninja -C "$T/b" -j2 >"$T/build.log" 2>&1 &&
   DESTDIR="$T/root" meson install -C "$T/b" --no-rebuild >"$T/install.log" 2>&1; then
	ok "build and install with --prefix=/usr --sysconfdir=/etc"
else
	bad "build and install with --prefix=/usr --sysconfdir=/etc"
	tail -n 20 "$T/setup.log" "$T/build.log" "$T/install.log"
fi
R=$T/root
for f in /usr/sbin/roamvpnd /usr/bin/roamvpnctl /usr/libexec/roamvpn/roamvpn-engine \
	/usr/libexec/roamvpn/roamvpn-hook /etc/roamvpn/roamvpn.conf \
	/etc/init.d/roamvpnd /etc/conf.d/roamvpnd /lib/netifrc/net/roamvpn.sh \
	/usr/share/dbus-1/system.d/net.roamvpn1.conf /usr/share/polkit-1/actions/net.roamvpn1.policy \
	/usr/share/man/man8/roamvpnd.8 /usr/share/man/man1/roamvpnctl.1 /usr/share/man/man5/roamvpn.tunnel.5 \
	/usr/share/doc/roamvpn/README.md /usr/share/doc/roamvpn/netifrc.md \
	/usr/share/doc/roamvpn/examples/rules/50-untrusted-wifi.rules \
	/usr/share/zsh/site-functions/_roamvpnctl; do
	check "installed: $f" test -e "$R$f"
done
check "bash completion installed" sh -c "ls '$R'/usr/share/bash-completion/completions/roamvpnctl >/dev/null"
check "systemd unit installed" sh -c "ls '$R'/lib/systemd/system/roamvpnd.service '$R'/usr/lib/systemd/system/roamvpnd.service 2>/dev/null | grep -q ."
check "tunnels/ created, private" [ "$(stat -c %a "$R/etc/roamvpn/tunnels" 2>/dev/null)" = 700 ]
check "rules/ created" test -d "$R/etc/roamvpn/rules"
check "the init script is executable and runs /usr/sbin/roamvpnd" \
	sh -c "[ -x '$R/etc/init.d/roamvpnd' ] && grep -q '^command=\"/usr/sbin/roamvpnd\"' '$R/etc/init.d/roamvpnd'"
check "the init script is openrc-run's" sh -c "head -1 '$R/etc/init.d/roamvpnd' | grep -qx '#!/sbin/openrc-run'"
check "nothing under /usr/local" sh -c "! find '$R' -path '*/usr/local*' | grep -q ."
check "roamvpnd reads /etc/roamvpn" sh -c "'$R/usr/sbin/roamvpnd' --help | grep -q '(default /etc/roamvpn)'"
check "the unit's Documentation= file is installed" sh -c "
	u=\$(ls '$R'/lib/systemd/system/roamvpnd.service '$R'/usr/lib/systemd/system/roamvpnd.service 2>/dev/null | head -1)
	f=\$(sed -n 's|^Documentation=.*file://\\([^ ]*\\).*|\\1|p' \"\$u\")
	[ -n \"\$f\" ] && [ -f '$R'\"\$f\" ]"
echo "$T/root" >"$T/root-path"

# --- meson's default prefix ---------------------------------------------------------
if meson setup "$T/d" "$SRC" "${common[@]}" -Dman=disabled >"$T/setup2.log" 2>&1 &&
   nice -n 10 ninja -C "$T/d" -j2 daemon/roamvpnd >"$T/build2.log" 2>&1; then
	ok "build with the default prefix"
else
	bad "build with the default prefix"; tail -n 20 "$T/setup2.log" "$T/build2.log"
fi
check "default prefix: roamvpnd reads /usr/local/etc/roamvpn (as the README says)" \
	sh -c "'$T/d/daemon/roamvpnd' --help | grep -q '(default /usr/local/etc/roamvpn)'"
check "default prefix: the bus policy still goes where the system bus looks" \
	sh -c "meson introspect --installed '$T/d' | grep -q '\"/usr/share/dbus-1/system.d/net.roamvpn1.conf\"'"
check "default prefix: roamvpn.conf goes to /usr/local/etc/roamvpn" \
	sh -c "meson introspect --installed '$T/d' | grep -q '\"/usr/local/etc/roamvpn/roamvpn.conf\"'"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
