#!/bin/bash
# setup.sh - the two entry points of the README, for a fresh Debian 12 machine (root).
#
#   bash tools/setup.sh demo    install dependencies, build, run the namespace demo
#   bash tools/setup.sh test    install dependencies, build, run every test suite
#
# Options via environment: BUILD_DIR (build), SUITES ("unit netns vm package"),
# SANITIZE=1 (AddressSanitizer + UBSan build), SKIP_INSTALL=1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
BUILD_DIR=${BUILD_DIR:-build}
MODE=${1:-}

PACKAGES=(
	# build
	meson ninja-build pkg-config gcc libc6-dev gettext
	libglib2.0-dev libdbus-1-dev libnl-3-dev libnl-route-3-dev libnl-genl-3-dev
	libsodium-dev libssl-dev libseccomp-dev libnftables-dev
	# run and test: namespaces, a private bus, JSON checks
	dbus iproute2 util-linux procps kmod jq python3
	# authorization: the real polkitd (daemon-polkit)
	polkitd
	# the desktop applet (-Dapplet) and its test: Xvfb, screenshots
	libgtk-3-dev libayatana-appindicator3-dev libnotify-dev xvfb imagemagick
	# kill switch and captive portal test: nft, a real DHCP and DNS server, a DHCP client
	nftables dnsmasq-base busybox curl
	# real VPN peers: vpnc against strongSwan (userspace ESP)
	vpnc strongswan-charon strongswan-swanctl libcharon-extra-plugins
	libcharon-extauth-plugins libstrongswan-standard-plugins
	# real VPN servers and clients for the plugin tests (pptp in the VM lab: the host has no PPP;
	# ipsec uses the strongSwan packages above: charon, swanctl, kernel-libipsec, eap-mschapv2)
	ppp pptp-linux pptpd openvpn openssl ocserv openconnect
	# exec-backend recipes: tinc and OpenSSH tunnels
	tinc openssh-server openssh-client
	# engine interoperability and benchmarks
	wireguard-go wireguard-tools iperf3 iputils-ping
	# packaging: man pages (scdoc, checked with groff and man), completion tests,
	# the OpenRC test (openrc .debs are downloaded, never installed), script(1)
	scdoc groff-base man-db bash-completion zsh bsdutils
	# the Debian package test (suite "package": dpkg-buildpackage, lintian)
	build-essential debhelper dpkg-dev fakeroot lintian pkgconf adduser
	# the translations test compiles es_ES/de_DE with localedef (private LOCPATH)
	locales
	# fuzzing (fuzz/): clang with libFuzzer and the sanitizer runtimes
	clang libclang-rt-14-dev
	# the VM lab (qemu + mac80211_hwsim + hostapd + wpa_supplicant)
	qemu-system-x86 hostapd wpasupplicant iw wireless-regdb cpio gzip xz-utils zstd
)

install_deps() {
	[ -n "${SKIP_INSTALL:-}" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "setup.sh: run as root (it installs packages and makes network namespaces)" >&2
		exit 1
	fi
	local missing=()
	for p in "${PACKAGES[@]}"; do
		case $p in \#*) continue ;; esac
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		# Packages such as strongSwan would start their services: not here.
		local made_policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod 755 /usr/sbin/policy-rc.d
			made_policy=1
		fi
		timeout 900 apt-get update -q
		timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}"
		if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	fi
}

build() {
	local opts=()
	[ -n "${SANITIZE:-}" ] && opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
	if [ ! -f "$BUILD_DIR/build.ninja" ]; then
		meson setup "$BUILD_DIR" "${opts[@]}"
	fi
	ninja -C "$BUILD_DIR"
}

# Every namespace test that runs roamvpnd runs it sanitized too (issue 8: the suite passes
# under ASan/UBSan); engine-interop is the engine against wireguard-go, not the daemon, and
# the applet, OpenRC and completion tests are about those programs, not the daemon.
ASAN_NETNS_TESTS=(
	daemon-core daemon-multilink daemon-names daemon-admin-group daemon-links-scale
	daemon-polkit daemon-bus-restart daemon-fault-injection ctl-predown daemon-builtin
	daemon-killswitch daemon-vpnc daemon-pptp daemon-openvpn daemon-openconnect daemon-ipsec
)

run_tests() {
	local suites=${SUITES:-unit netns vm package}
	local args=() rc=0 logs=()
	for s in $suites; do args+=(--suite "$s"); done
	meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 "${args[@]}" || rc=$?
	logs+=("$BUILD_DIR/meson-logs/testlog.json")
	# The unit tests once more under AddressSanitizer + UBSan: they must stay clean.
	if [ -z "${NO_ASAN:-}" ]; then
		echo "== unit tests under AddressSanitizer and UBSan"
		[ -f build-asan/build.ninja ] ||
			meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
		ninja -C build-asan >/dev/null
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit || rc=$?
		logs+=(build-asan/meson-logs/testlog.json)
		# The real daemon in its namespace tests, sanitized too (it is the long-lived part).
		cp build-asan/meson-logs/testlog.json build-asan/meson-logs/testlog-unit.json
		logs[-1]=build-asan/meson-logs/testlog-unit.json
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --print-errorlogs "${ASAN_NETNS_TESTS[@]}" || rc=$?
		logs+=(build-asan/meson-logs/testlog.json)
	fi
	# A short libFuzzer run of every fuzz target (fuzz/meson.build; FUZZ_SECONDS each,
	# 20 by default): parsers fed from outside must not crash, leak or trip UBSan.
	if [ -z "${NO_FUZZ:-}" ]; then
		echo "== fuzz targets, ${FUZZ_SECONDS:-20} s each"
		[ -f build-fuzz/build.ninja ] ||
			CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Dwerror=false \
				-Db_lundef=false >/dev/null
		if ninja -C build-fuzz fuzz >/dev/null; then
			meson test -C build-fuzz --no-rebuild --print-errorlogs --num-processes 2 \
				--suite fuzz || rc=$?
			logs+=(build-fuzz/meson-logs/testlog.json)
		else
			echo "fuzz targets did not build"
			rc=1
		fi
	fi
	# One closing line any CI can read, from meson's own record of the runs.
	jq -rs '[.[] | .result] |
		"tests: \(map(select(. == "OK" or . == "EXPECTEDFAIL")) | length) passed, \(map(select(. == "FAIL" or . == "TIMEOUT" or . == "ERROR" or . == "UNEXPECTEDPASS")) | length) failed, \(map(select(. == "SKIP")) | length) skipped"' "${logs[@]}"
	return $rc
}

case $MODE in
demo)
	install_deps
	build
	exec bash tools/demo.sh "$BUILD_DIR"
	;;
test)
	install_deps
	build
	run_tests
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
