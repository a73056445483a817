#!/bin/sh
# test-roamvpn.sh - TAP test of the netifrc module with netifrc's functions stubbed
# and a fake roamvpnctl that records its arguments. Needs no root, no daemon.
# shellcheck disable=SC2016,SC2034,SC2181,SC2317
set -u
module="${1:?usage: test-roamvpn.sh path/to/roamvpn.sh}"
tmp=$(mktemp -d) || exit 1
trap 'cd / && rm -rf "${tmp}"' EXIT
case "${module}" in /*) ;; *) module="$(pwd)/${module}" ;; esac
# Anything the module wrongly executed would land here.
mkdir "${tmp}/cwd" && cd "${tmp}/cwd" || exit 1

# Fake roamvpnctl: one line per argument; exit code from $FAKE_RC.
mkdir "${tmp}/bin"
cat > "${tmp}/bin/roamvpnctl" <<'FAKE'
#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done > "${FAKE_LOG}"
exit "${FAKE_RC:-0}"
FAKE
chmod +x "${tmp}/bin/roamvpnctl"
PATH="${tmp}/bin:${PATH}"
FAKE_LOG="${tmp}/args"
export PATH FAKE_LOG

# netifrc's DSL and output helpers.
program() { :; }
after() { :; }
vewarn() { printf '%s\n' "$*" >> "${tmp}/warnings"; }
# shellcheck disable=SC1090
. "${module}"

n=0
fail=0
ok() { n=$((n + 1)); echo "ok ${n} - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok ${n} - $1"; }

echo "1..9"

IFACE='wl an0;$(touch x)'
IFVAR='wl_an0__touch_x_'
FAKE_RC=0 roamvpn_post_start
if [ "$?" = 0 ] && [ "$(cat "${tmp}/args")" = "hook
postup
wl an0;\$(touch x)" ] && [ ! -e x ]; then
	ok "post_start passes a hostile IFACE as one argument"
else
	not_ok "post_start passes a hostile IFACE as one argument"
fi

rm -f "${tmp}/args"
FAKE_RC=0 roamvpn_pre_stop
if [ "$?" = 0 ] && [ "$(sed -n 2p "${tmp}/args")" = "predown" ]; then
	ok "pre_stop sends predown"
else
	not_ok "pre_stop sends predown"
fi

export FAKE_RC=3
roamvpn_post_start
rc=$?
unset FAKE_RC
if [ "${rc}" = 0 ] && grep -q "not running" "${tmp}/warnings"; then
	ok "daemon absent: interface still comes up, with a warning"
else
	not_ok "daemon absent: interface still comes up, with a warning"
fi

export FAKE_RC=1
roamvpn_pre_stop
rc=$?
unset FAKE_RC
if [ "${rc}" = 0 ]; then
	ok "hook failure never fails the interface"
else
	not_ok "hook failure never fails the interface"
fi

rm -f "${tmp}/args"
IFACE=eth0
IFVAR=eth0
roamvpn_eth0=no
roamvpn_post_start
if [ "$?" = 0 ] && [ ! -e "${tmp}/args" ]; then
	ok "roamvpn_IFVAR=no skips the interface"
else
	not_ok "roamvpn_IFVAR=no skips the interface"
fi

rm -f "${tmp}/args"
IFVAR='x;touch pwned'
roamvpn_post_start
if [ "$?" = 0 ] && [ ! -e pwned ] && [ -e "${tmp}/args" ]; then
	ok "a malformed IFVAR is never evaluated"
else
	not_ok "a malformed IFVAR is never evaluated"
fi
rm -f "${tmp}/args"
IFACE=lo
IFVAR=lo
roamvpn_pre_stop
if [ "$?" = 0 ] && [ ! -e "${tmp}/args" ]; then
	ok "loopback is skipped"
else
	not_ok "loopback is skipped"
fi

rm -f "${tmp}/args"
IFACE=wlan0
IFVAR=wlan0
roamvpn_timeout=7
roamvpn_pre_stop
if [ "$?" = 0 ] && [ "$(cat "${tmp}/args")" = "hook
predown
wlan0
--timeout
7" ]; then
	ok "predown passes the configured wait bound"
else
	not_ok "predown passes the configured wait bound"
fi

export FAKE_RC=4
: > "${tmp}/warnings"
roamvpn_post_start
rc=$?
unset FAKE_RC
if [ "${rc}" = 0 ] && grep -q "no D-Bus" "${tmp}/warnings"; then
	ok "no bus: interface still comes up, with its own warning"
else
	not_ok "no bus: interface still comes up, with its own warning"
fi
exit "${fail}"
