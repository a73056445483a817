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

# rv_test_pki DIR CA-CN SERVER-CN EXTENSIONS: a throw-away CA (DIR/ca.key, DIR/ca.crt)
# and a server key and certificate it signed (DIR/server.key, DIR/server.crt), EC P-256,
# valid two days, with EXTENSIONS (lines of an openssl -extfile). No certificate, no test.
rv_test_pki() {
	local d=$1 ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/CN=$2" 2>/dev/null
	openssl req $ec -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=$3" 2>/dev/null
	printf '%s\n' "$4" >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/server.crt" -days 2 -extfile "$d/server.ext" 2>/dev/null
	[ -s "$d/server.crt" ] || { echo "FAIL: test PKI"; exit 1; }
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

# rv_plugin_up_names DESCRIPTION TEXT: the changed tunnel file reloaded and lan0 up in
# $C: within 30 s tunnel corp's LastError contains TEXT (it is shown either way).
rv_plugin_up_names() {
	rv_ctl reload >/dev/null
	sleep 0.5
	ip -n "$C" link set lan0 up
	if rv_wait_for 30 sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json tunnels | grep -qF '$2'"; then
		ok "$1: $(field LastError)"
	else
		fail "$1: LastError '$(field LastError)'"
	fi
}

# field NAME: tunnel corp's property NAME from roamvpnctl --json tunnels
field() { rv_ctl_json tunnels | jq -r --arg f "$1" '.. | objects | select(.Name? == "corp") | .[$f]' | head -1; }
# running PROGRAM: its pid in the client namespace $C, if it runs there
running() { for p in $(ip netns pids "$C"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = "$1" ] && echo "$p"; done | head -1; }
gone() { [ -z "$(running "$1")" ]; }
