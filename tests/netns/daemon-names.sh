#!/bin/bash
# daemon-names.sh - names that are not UTF-8 (issue 8 §6): a link named $'\xff\xfe'
# and a rule file 10-$'\xff\xfe'.rules. The daemon runs with
# G_DEBUG=fatal-criticals, so one GLib critical kills it. Checked: it stays up and
# logs no critical; the link's D-Bus object has its properties, with the name
# escaped (\xff\xfe); the rule's id is shown escaped as the link's MatchedRule;
# Explain works for all links and for the odd one by its escaped name; --json
# output is valid JSON; a reload with the odd file present works.
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvnames

NS=rvnames-$$
PEER=rvnames-p-$$
ODD=$'\xff\xfe'
rv_netns_add "$NS"
rv_netns_add "$PEER"
ip link add lan0 netns "$NS" type veth peer name gw0 netns "$PEER"
ip -n "$PEER" link set gw0 up
ip -n "$NS" link add "$ODD" type veth peer name odd-peer
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\nDebounceMs=100\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 3600\n' >"$RV_TMP/etc/tunnels/corp.conf"
printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/10-$ODD.rules"
printf '[Match]\nType=ether\n[Action]\nDisconnect=all\n' >"$RV_TMP/etc/rules/50-wire.rules"

check "--check accepts the configuration with the odd rule file" \
	"$ROAMVPND" --check --config-dir "$RV_TMP/etc"

rv_start_bus
export G_DEBUG=fatal-criticals
rv_start_daemon "$NS"
unset G_DEBUG
ip -n "$NS" link set lan0 up
ip -n "$NS" link set "$ODD" up
ip -n "$NS" link set odd-peer up

daemon_alive() { kill -0 "$RV_DAEMON_PID" 2>/dev/null; }
check "tunnel up: lan0 matched the odd rule" rv_wait_for 10 rv_tunnel_is corp up
check "daemon alive" daemon_alive
rv_ctl_json links >"$RV_TMP/links.json"
check "links --json is valid JSON" jq -e . "$RV_TMP/links.json" >/dev/null
check "the odd link is listed, its name escaped" \
	jq -e '.. | objects | select(.Name? == "\\xff\\xfe")' "$RV_TMP/links.json" >/dev/null
check "the odd link has its properties (Type, Index, Active)" \
	jq -e '.. | objects | select(.Name? == "\\xff\\xfe") | select(.Type == "ether" and .Index > 0 and (.Active | type) == "boolean")' "$RV_TMP/links.json" >/dev/null
check "lan0's MatchedRule is the odd rule, escaped" \
	jq -e '.. | objects | select(.Name? == "lan0") | select(.MatchedRule == "10-\\xff\\xfe")' "$RV_TMP/links.json" >/dev/null
check "status --json is valid JSON" sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json status | jq -e . >/dev/null"
rv_ctl explain >"$RV_TMP/explain.txt" 2>&1
check "Explain for all links works" [ $? = 0 ]
check "... and is valid UTF-8 naming both links" sh -c \
	"iconv -f UTF-8 -t UTF-8 '$RV_TMP/explain.txt' >/dev/null && grep -q '^lan0' '$RV_TMP/explain.txt' && grep -qF '\\xff\\xfe' '$RV_TMP/explain.txt'"
check "... with the odd rule's verdict for lan0" grep -qF '10-\xff\xfe: matched' "$RV_TMP/explain.txt"
rv_ctl explain '\xff\xfe' >"$RV_TMP/explain-odd.txt" 2>&1
check "Explain for the odd link by its escaped name works" [ $? = 0 ]
sed 's/^/    /' "$RV_TMP/explain.txt"
rv_ctl --json explain lan0 >"$RV_TMP/explain.json" 2>&1
check "explain --json is valid JSON" jq -e . "$RV_TMP/explain.json" >/dev/null
rv_ctl reload >"$RV_TMP/reload.txt" 2>&1
check "reload with the odd rule file works" [ $? = 0 ]
check "daemon still alive" daemon_alive
check "no GLib critical in the log" sh -c "! grep -q CRITICAL '$RV_TMP/daemon.log'"
check "the log is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$RV_TMP/daemon.log" -o /dev/null
grep -a 'CRITICAL' "$RV_TMP/daemon.log" | head -5 | sed 's/^/    /'
rv_summary
