# bash completion for roamvpnctl.
#
# Thin on purpose: roamvpnctl's own command table answers through the hidden
# `roamvpnctl __complete bash WORD...` (commands, options, hook events, and tunnel
# and interface names from the running daemon), so this file never goes stale.

_roamvpnctl()
{
	local cur words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n =: || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local IFS=$'\n'
	COMPREPLY=($("${words[0]}" __complete bash "${words[@]:1:cword}" 2>/dev/null))
	# A value still to be typed after "unix:path=" must not get a space yet.
	if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
		compopt -o nospace 2>/dev/null
	fi
	# bash splits words at ':' (unix:path=...): replace only what it completes.
	if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
		__ltrim_colon_completions "$cur"
	fi
	return 0
}
complete -F _roamvpnctl roamvpnctl
