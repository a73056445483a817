# plugin-lib.sh - what the plugin tests (daemon-pptp, -openvpn, -openconnect, -ipsec)
# share; sourced after lib.sh.

# rv_plugin_setup PREFIX PLUGIN: the plugin is built; temp dir and cleanup (rv_setup);
# the daemon and --check load plugins from the build tree and give children its hook.
rv_plugin_setup() {
	PLUGIN_DIR=$RV_BUILD/plugins
	[ -f "$PLUGIN_DIR/$2.so" ] || { echo "FAIL: $PLUGIN_DIR/$2.so not built"; exit 1; }
	rv_setup "$1"
	export ROAMVPN_PLUGIN_DIR=$PLUGIN_DIR ROAMVPN_HOOK_PATH=$RV_BUILD/hooks/roamvpn-hook
}

# rv_plugin_pair CLIENT SERVER SERVER-IFNAME: the client's lan0 (10.77.0.1/24, left down
# for the rule to see it come up) joined to the server's SERVER-IFNAME (10.77.0.2/24),
# and 10.77.2.1 on the server's lo for a host behind it.
rv_plugin_pair() {
	rv_netns_add "$1"
	rv_netns_add "$2"
	ip link add lan0 netns "$1" type veth peer name "$3" netns "$2"
	ip -n "$1" addr add 10.77.0.1/24 dev lan0
	ip -n "$2" addr add 10.77.0.2/24 dev "$3"
	ip -n "$2" link set "$3" up
	ip -n "$2" addr add 10.77.2.1/32 dev lo
}

not_in() { ! grep -qF -- "$1" <<<"$2"; }

# rv_plugin_refuses SECRET DESCRIPTION REGEX BODY: roamvpnd --check on a tunnel file
# corp.conf (0600) of BODY prints a line matching REGEX, and not SECRET.
rv_plugin_refuses() {
	local dir=$RV_TMP/refused out
	mkdir -p "$dir/tunnels"
	(umask 077; printf '%s\n' "$4" >"$dir/tunnels/corp.conf")
	out=$("$ROAMVPND" --config-dir "$dir" --check 2>&1)
	check "--check: $2" grep -qE -- "$3" <<<"$out"
	check "--check: $2: the secret is not in the message" not_in "$1" "$out"
}

# field NAME: tunnel corp's property NAME from roamvpnctl --json tunnels
field() { rv_ctl_json tunnels | jq -r --arg f "$1" '.. | objects | select(.Name? == "corp") | .[$f]' | head -1; }
# running PROGRAM: its pid in the client namespace $C, if it runs there
running() { for p in $(ip netns pids "$C"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = "$1" ] && echo "$p"; done | head -1; }
gone() { [ -z "$(running "$1")" ]; }
