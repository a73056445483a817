# roamvpn.sh - netifrc module: tell roamvpnd when an interface comes up or goes down.
#
# Installed as /lib/netifrc/net/roamvpn.sh. netifrc loads every module for every
# interface; this one only forwards "postup"/"predown" to the daemon through
# `roamvpnctl hook`, which makes roamvpnd evaluate its rules for the interface now
# rather than on the next netlink event, and stop the interface's tunnel (and put
# DNS back) before netifrc deletes the addresses.
#
# The VPN must never keep an interface from coming up or going down: every
# function returns 0, whether roamvpnd runs or not, and the call is bounded.
#
# Per interface (in /etc/conf.d/net):  roamvpn_wlan0="no"   skips wlan0.
# roamvpn_timeout="10"  bounds how long predown waits for the interface's tunnels
# to be down and DNS restored (seconds; 0 does not wait).
# Loopback is skipped: no tunnel runs over it, and net.lo starts before dbus.
# roamvpnd also watches netlink and nl80211 itself; this hook is only an early
# trigger and a boot-order integration point (see docs/netifrc.md).

roamvpn_depend()
{
	program roamvpnctl
	after interface wireless
}

_roamvpn_enabled()
{
	local setting
	# IFVAR is netifrc's shell_var of IFACE; refuse anything else before eval.
	case "${IFVAR}" in
		""|*[!A-Za-z0-9_]*) return 0 ;;
	esac
	eval "setting=\${roamvpn_${IFVAR}-}"
	case "${setting}" in
		[Nn][Oo]|[Ff][Aa][Ll][Ss][Ee]|0|[Oo][Ff][Ff]) return 1 ;;
	esac
	return 0
}

_roamvpn_hook()
{
	local event="$1" rc=0 wait="${roamvpn_timeout:-10}"
	[ "${IFACE}" = lo ] && return 0
	_roamvpn_enabled || return 0
	case "${wait}" in
		""|*[!0-9]*) wait=10 ;;
	esac
	# predown waits (bounded by roamvpnctl itself) until the tunnels are down;
	# timeout(1) is only the last resort against a hung bus.
	set -- hook "${event}" "${IFACE}"
	[ "${event}" = predown ] && set -- "$@" --timeout "${wait}"
	if command -v timeout >/dev/null 2>&1; then
		timeout $((wait + 5)) roamvpnctl "$@" >/dev/null 2>&1 || rc=$?
	else
		roamvpnctl "$@" >/dev/null 2>&1 || rc=$?
	fi
	case "${rc}" in
		0) ;;
		3) vewarn "roamvpnd is not running; not telling it about ${IFACE}" ;;
		4) vewarn "no D-Bus system bus; not telling roamvpnd about ${IFACE}" ;;
		*) vewarn "roamvpnctl hook ${event} ${IFACE} failed (exit ${rc})" ;;
	esac
	return 0
}

roamvpn_post_start()
{
	_roamvpn_hook postup
	return 0
}

roamvpn_pre_stop()
{
	_roamvpn_hook predown
	return 0
}
