#!/bin/bash
# debian-package.sh - build the Debian package from this tree with
# `dpkg-buildpackage -b -uc -us`, check it with lintian (no errors), install it on
# this machine, check that its files are where the FHS and Debian put them, that
# `roamvpnd --check` passes on the installed configuration, that a real
# `dbus-daemon --system` accepts and enforces the installed bus policy (with the
# installed roamvpnd on it, in a private network and mount namespace), then purge
# it and check that nothing is left.
#
# Root; it changes the machine (an install and a purge), so it refuses to run
# where roamvpn is already installed or /etc/roamvpn exists. Suite "package".
set -u
SRC=${ROAMVPN_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/netns/lib.sh"

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (installs a package)"; exit 77; fi
for p in dpkg-buildpackage dh lintian dbus-daemon setpriv unshare ip; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
if dpkg-query -W -f='${Status}' roamvpn roamvpn-applet 2>/dev/null | grep -q installed || [ -e /etc/roamvpn ]; then
	echo "SKIP: roamvpn is installed here already (or /etc/roamvpn exists): not touching it"
	exit 77
fi

rv_setup rvpkg
INSTALLED=
NS=rvpkg-$$
POLICY_RC_MADE=
pkg_cleanup() {
	if [ -n "$INSTALLED" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -q \
			roamvpn roamvpn-applet >/dev/null 2>&1 ||
			dpkg --purge roamvpn-applet roamvpn >/dev/null 2>&1
	fi
	[ -n "$POLICY_RC_MADE" ] && rm -f /usr/sbin/policy-rc.d
	rv_cleanup
}
trap pkg_cleanup EXIT

# --- build from a clean copy of the tree (the build directory stays out) -------------
TREE=$RV_TMP/roamvpn-0.1.0
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp -a --parents -t "$TREE" 2>/dev/null)
else
	(cd "$SRC" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | (cd "$TREE" && tar xf -)
fi
check "tree copied (debian/ present)" test -f "$TREE/debian/control"
t0=$(date +%s)
(cd "$TREE" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -uc -us) \
	>"$RV_TMP/build.log" 2>&1
rc=$?
t1=$(date +%s)
echo "    dpkg-buildpackage took $((t1 - t0)) s"
check "dpkg-buildpackage -b -uc -us succeeds" [ "$rc" = 0 ] || tail -40 "$RV_TMP/build.log"
DEB=$(ls "$RV_TMP"/roamvpn_*_*.deb 2>/dev/null | head -1)
APPLET_DEB=$(ls "$RV_TMP"/roamvpn-applet_*_*.deb 2>/dev/null | head -1)
check "two binary packages: roamvpn and roamvpn-applet" [ -n "$DEB" -a -n "$APPLET_DEB" ]
CHANGES=$(ls "$RV_TMP"/roamvpn_*.changes 2>/dev/null | head -1)
[ -n "$DEB" ] || { rv_summary; exit 1; }

# --- lintian: no errors (warnings are printed) ----------------------------------------
lintian --fail-on error "$CHANGES" >"$RV_TMP/lintian.out" 2>&1
rc=$?
check "lintian: no errors" [ "$rc" = 0 ]
grep -E '^[EW]:' "$RV_TMP/lintian.out" | sed 's/^/    /'
echo "    lintian: $(grep -c '^E:' "$RV_TMP/lintian.out") errors, $(grep -c '^W:' "$RV_TMP/lintian.out") warnings"

# --- install (services not started: policy-rc.d says no) ---------------------------------
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	POLICY_RC_MADE=1
fi
INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
	--no-install-recommends "$DEB" ${APPLET_DEB:+"$APPLET_DEB"} >"$RV_TMP/install.log" 2>&1
check "the packages install" sh -c "dpkg-query -W -f='\${Status}\n' roamvpn roamvpn-applet 2>/dev/null | grep -c 'install ok installed' | grep -qx 2" ||
	tail -20 "$RV_TMP/install.log"

# --- where the files are -----------------------------------------------------------
dpkg -L roamvpn >"$RV_TMP/files"
for f in /usr/sbin/roamvpnd /usr/bin/roamvpnctl \
	/usr/libexec/roamvpn/roamvpn-engine /usr/libexec/roamvpn/roamvpn-hook \
	/usr/share/dbus-1/system.d/net.roamvpn1.conf \
	/usr/share/dbus-1/system-services/net.roamvpn1.service \
	/usr/share/dbus-1/interfaces/net.roamvpn1.Manager.xml \
	/lib/systemd/system/roamvpnd.service \
	/etc/roamvpn/roamvpn.conf /etc/roamvpn/tunnels /etc/roamvpn/rules \
	/usr/share/man/man8/roamvpnd.8.gz /usr/share/man/man1/roamvpnctl.1.gz \
	/usr/share/man/man5/roamvpn.conf.5.gz /usr/share/man/man5/roamvpn.rules.5.gz \
	/usr/share/man/man5/roamvpn.tunnel.5.gz /usr/share/man/man8/roamvpn-engine.8.gz \
	/usr/share/man/man8/roamvpn-hook.8.gz \
	/usr/share/bash-completion/completions/roamvpnctl \
	/usr/share/zsh/vendor-completions/_roamvpnctl \
	/usr/share/doc/roamvpn/copyright /usr/share/doc/roamvpn/README.md \
	/usr/share/doc/roamvpn/examples/rules /usr/share/doc/roamvpn/examples/tunnels \
	/usr/share/locale/es/LC_MESSAGES/roamvpn.mo /usr/share/locale/de/LC_MESSAGES/roamvpn.mo; do
	check "installed: $f" grep -qx "$f" "$RV_TMP/files"
done
dpkg -L roamvpn-applet >"$RV_TMP/applet-files" 2>/dev/null
for f in /usr/bin/roamvpn-applet /etc/xdg/autostart/roamvpn-applet.desktop \
	/usr/share/icons/hicolor/scalable/status/roamvpn-protected.svg \
	/usr/share/man/man1/roamvpn-applet.1.gz; do
	check "roamvpn-applet installed: $f" grep -qx "$f" "$RV_TMP/applet-files"
done
check "the applet is not in the daemon's package" sh -c "! grep -qE 'bin/roamvpn-applet|autostart|hicolor' '$RV_TMP/files'"
cat "$RV_TMP/applet-files" >>"$RV_TMP/files"
check "every file under /usr, /etc or /lib (FHS)" \
	sh -c "! grep -vE '^/(\\.|usr|usr/.*|etc|etc/.*|lib|lib/.*)\$' '$RV_TMP/files'"
check "nothing under /usr/local" sh -c "! grep -q '^/usr/local' '$RV_TMP/files'"
check "roamvpn.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' roamvpn | grep -q /etc/roamvpn/roamvpn.conf"
check "tunnels/ is private (0700)" [ "$(stat -c %a /etc/roamvpn/tunnels)" = 700 ]
check "the unit's Documentation= file exists" \
	sh -c "f=\$(sed -n 's|^Documentation=.*file://\\([^ ]*\\).*|\\1|p' /lib/systemd/system/roamvpnd.service); [ -f \"\$f\" ]"
check "the unit runs the installed daemon" grep -q '^ExecStart=/usr/sbin/roamvpnd ' /lib/systemd/system/roamvpnd.service
check "group netdev exists for the bus policy" getent group netdev
check "roamvpnd --version" sh -c "/usr/sbin/roamvpnd --version | grep -q '^roamvpnd '"
check "roamvpnctl -V" sh -c "/usr/bin/roamvpnctl -V | grep -q '^roamvpnctl '"
/usr/sbin/roamvpnd --check >"$RV_TMP/check.out" 2>&1
check "roamvpnd --check on the installed /etc/roamvpn" [ $? = 0 ] || cat "$RV_TMP/check.out"
check "man roamvpnd renders from the installed page" sh -c "MANWIDTH=80 man --warnings roamvpnd 2>&1 >/dev/null | { ! grep -q .; }"

# --- the installed bus policy under a real system bus configuration --------------------
# dbus-daemon --system reads /usr/share/dbus-1/system.conf, which includes the
# installed net.roamvpn1.conf. All of /run is a tmpfs in a private mount
# namespace (the bus socket, and /run/roamvpn of a daemon the bus might
# activate), /etc/resolv.conf a private file, and roamvpnd runs in a network
# namespace of its own: nothing reaches the host's.
rv_netns_add "$NS"
mkdir -p "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
: >"$RV_TMP/etc-resolv.conf"
chmod 755 "$RV_TMP"
ip netns exec "$NS" unshare --mount --propagation private -- bash -c '
	T=$1
	mount -t tmpfs -o mode=755 tmpfs /run || exit 10
	mkdir -p /run/dbus
	mount --bind "$T/etc-resolv.conf" /etc/resolv.conf || exit 10
	dbus-daemon --system --nofork --nopidfile >"$T/sysbus.log" 2>&1 &
	for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
	[ -S /run/dbus/system_bus_socket ] || exit 11
	/usr/sbin/roamvpnd --foreground --state-dir "$T/state" --resolv-conf "$T/resolv.conf" \
		>"$T/daemon.log" 2>&1 &
	# Wait for the name without a method call to it (which would activate one).
	for _ in $(seq 200); do
		dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
			org.freedesktop.DBus.NameHasOwner string:net.roamvpn1 2>/dev/null |
			grep -q "boolean true" && break
		sleep 0.05
	done
	roamvpnctl status >"$T/status.out" 2>&1; echo $? >"$T/status.rc"
	setpriv --reuid=65534 --regid=65534 --clear-groups roamvpnctl status >/dev/null 2>&1
	echo $? >"$T/nobody-status.rc"
	setpriv --reuid=65534 --regid=65534 --clear-groups roamvpnctl pause >"$T/nobody-pause.out" 2>&1
	echo $? >"$T/nobody-pause.rc"
	roamvpnctl --json status >"$T/after-nobody.json" 2>&1
	roamvpnctl pause >/dev/null 2>&1; echo $? >"$T/root-pause.rc"
	kill $(jobs -p) 2>/dev/null
	wait
' bash "$RV_TMP"
check "the system bus starts with the installed policy" test -f "$RV_TMP/status.rc"
check "dbus-daemon --system had nothing to say about it" \
	sh -c "! grep -iE 'net\.roamvpn1\.conf|unknown (user|group)|error in file|parse' '$RV_TMP/sysbus.log'" ||
	cat "$RV_TMP/sysbus.log"
check "the installed roamvpnd owns net.roamvpn1 on it" [ "$(cat "$RV_TMP/status.rc" 2>/dev/null)" = 0 ] ||
	tail -20 "$RV_TMP/daemon.log"
check "... the one started here, not one the bus activated" \
	sh -c "! grep -q 'Activating service name=.net.roamvpn1' '$RV_TMP/sysbus.log'"
check "anyone may read its status" [ "$(cat "$RV_TMP/nobody-status.rc" 2>/dev/null)" = 0 ]
check "nobody may not pause it (exit 1)" [ "$(cat "$RV_TMP/nobody-pause.rc" 2>/dev/null)" = 1 ]
# Refused by the bus policy (not root, not in netdev) or, where polkitd runs, by
# polkit through roamvpnd: either way a sentence, and nothing paused.
check "... said as a sentence" grep -qE "^Permission denied: (only root or members of group netdev|.*needs to authenticate)" \
	"$RV_TMP/nobody-pause.out" || cat "$RV_TMP/nobody-pause.out"
check "... and nothing was paused" grep -q '"Paused":false' "$RV_TMP/after-nobody.json"
check "root may pause it" [ "$(cat "$RV_TMP/root-pause.rc" 2>/dev/null)" = 0 ]

# --- purge: nothing left ------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -q roamvpn roamvpn-applet \
	>"$RV_TMP/purge.log" 2>&1
check "purge succeeds" [ $? = 0 ]
INSTALLED=
check "purged: not known to dpkg" sh -c "! dpkg-query -W -f='\${Status}' roamvpn roamvpn-applet 2>/dev/null | grep -q installed"
check "purged: /etc/roamvpn gone" test ! -e /etc/roamvpn
check "purged: binaries gone" test ! -e /usr/sbin/roamvpnd -a ! -e /usr/bin/roamvpnctl -a ! -e /usr/bin/roamvpn-applet
check "purged: bus policy gone" test ! -e /usr/share/dbus-1/system.d/net.roamvpn1.conf
rv_summary
