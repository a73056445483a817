#!/bin/bash
# ctl-completion.sh - roamvpnctl's bash and zsh completion against the real roamvpnd:
# the bash function is driven through COMP_WORDS/COMP_CWORD (with and without the
# bash-completion library), the zsh function with _describe/compadd recorded;
# commands, options per command, hook events, tunnel and interface names from the
# running daemon, nothing (and no noise) when no daemon is reachable.
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvcmp

NS=rvcmp-$$
rv_netns_add "$NS"
ip -n "$NS" link add lan0 type veth peer name gw0
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules"
printf 'nameserver 10.80.0.1\n' >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\n' >"$RV_TMP/etc/roamvpn.conf"
for t in corp lab; do
	printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 1000\n' >"$RV_TMP/etc/tunnels/$t.conf"
done
rv_start_bus
rv_start_daemon "$NS"

BASH_SCRIPT=$RV_SRC/completion/roamvpnctl.bash
ZSH_SCRIPT=$RV_SRC/completion/_roamvpnctl

# complete_bash LIBRARY WORD...: the sorted candidates, space-separated, that the
# bash function offers when the last WORD is being typed. LIBRARY is "lib" to
# load bash-completion first (as a user's shell has it), "bare" not to.
complete_bash() {
	local lib=$1; shift
	bash --norc --noprofile -c '
		[ "$1" = lib ] && . /usr/share/bash-completion/bash_completion
		. "$2"
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_roamvpnctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
	' bash "$lib" "$BASH_SCRIPT" "$@"
}

# expect DESCRIPTION WANT LIBRARY WORD...
expect() {
	local d=$1 want=$2; shift 2
	local got
	got=$(complete_bash "$@" 2>"$RV_TMP/complete.err")
	if [ "$got" = "$want" ] && [ ! -s "$RV_TMP/complete.err" ]; then
		ok "$d ($1)"
	else
		fail "$d ($1): got '$got', want '$want'"; cat "$RV_TMP/complete.err"
	fi
}

C=$ROAMVPNCTL
# Every command that --help lists, and only those: both come from one table.
ALL=$("$C" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
check "--help lists the commands (${ALL})" sh -c "echo '$ALL' | grep -q 'down.*hook.*status.*up'"
for lib in bare lib; do
	[ "$lib" = lib ] && [ ! -f /usr/share/bash-completion/bash_completion ] && continue
	expect "commands" "$ALL" $lib "$C" ""
	expect "a command by prefix" "status" $lib "$C" st
	expect "tunnel names from the daemon" "corp lab" $lib "$C" --bus "$RV_BUS" up ""
	expect "tunnel name by prefix" "corp" $lib "$C" --bus "$RV_BUS" down c
	expect "hook events" "postup predown" $lib "$C" hook ""
	expect "interface names from the daemon" "gw0 lan0 lo" $lib "$C" --bus "$RV_BUS" hook predown ""
	expect "explain takes an interface" "lan0" $lib "$C" --bus "$RV_BUS" explain la
	expect "options of up" "--bus --help --json --timeout --version --wait" $lib "$C" up --
	expect "status has no --wait" "" $lib "$C" status --w
	expect "hook has --timeout" "--timeout" $lib "$C" hook predown lan0 --t
	expect "values of --bus" "session system unix:path=" $lib "$C" --bus ""
	expect "nothing after the last argument" "" $lib "$C" --bus "$RV_BUS" up corp ""
	expect "no daemon: no names, no noise" "" $lib "$C" --bus "unix:path=$RV_TMP/nobus" up ""
done

# zsh: the function with _describe and compadd recorded instead of drawn.
if command -v zsh >/dev/null; then
	complete_zsh() {
		zsh -f -c '
			_describe() { local a=$4; print -rl -- "${(@P)a}"; }
			compadd() { local a=$2; print -r -- "P ${(j: :)${(@P)a}}"; }
			script=$1; shift
			words=("$@"); CURRENT=$#words
			source "$script"
		' zsh "$ZSH_SCRIPT" "$@" 2>&1
	}
	out=$(complete_zsh "$C" "")
	check "zsh: commands with their descriptions" \
		grep -q "status:daemon state, tunnels and links" <<<"$out"
	out=$(complete_zsh "$C" --bus "$RV_BUS" up "")
	check "zsh: tunnel names from the daemon" grep -qx "P corp lab" <<<"$out"
	out=$(complete_zsh "$C" up --)
	check "zsh: options with descriptions" grep -q -- "--wait:wait until the tunnel is there" <<<"$out"
else
	echo "zsh not installed: zsh checks skipped"
fi
rv_summary
