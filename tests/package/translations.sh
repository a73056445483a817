#!/bin/bash
# translations.sh - the Spanish and German translations from an installed tree:
# the project is built with --prefix in a temporary directory and installed there
# (so the programs look for their catalogs where meson put them), the es_ES.UTF-8
# and de_DE.UTF-8 locales are compiled with localedef into a private LOCPATH (the
# machine's locales are not touched), and roamvpnctl --help, a usage error,
# roamvpnd --help and --check, roamvpn-engine --help and a roamvpn-hook error must
# come out in each language (and in English under C). No root. Suite "package".
set -u
SRC=${ROAMVPN_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
for p in meson ninja localedef; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
[ -f /usr/share/i18n/locales/es_ES ] && [ -f /usr/share/i18n/locales/de_DE ] ||
	{ echo "SKIP: locale sources not installed (package locales)"; exit 77; }
T=$(mktemp -d /tmp/rvtr.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok:   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
# has DESCRIPTION FILE TEXT: FILE contains TEXT (fixed string)
has() { if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1 (no '$3')"; sed 's/^/    | /' "$2" | head -12; fi; }

I=$T/inst
if meson setup "$T/b" "$SRC" --prefix="$I" -Dnetns_tests=false -Dvm_tests=disabled \
	-Dapplet=disabled -Dman=disabled >"$T/setup.log" 2>&1 &&
   nice -n 10 ninja -C "$T/b" -j2 >"$T/build.log" 2>&1 &&
   meson install -C "$T/b" --no-rebuild >"$T/install.log" 2>&1; then
	ok "built and installed into $I"
else
	bad "build and install"; tail -n 20 "$T/setup.log" "$T/build.log" "$T/install.log"
	exit 1
fi
for l in es de; do
	[ -f "$I/share/locale/$l/LC_MESSAGES/roamvpn.mo" ] && ok "installed: share/locale/$l/LC_MESSAGES/roamvpn.mo" ||
		bad "installed: share/locale/$l/LC_MESSAGES/roamvpn.mo"
done
mkdir -p "$T/loc"
localedef -i es_ES -f UTF-8 "$T/loc/es_ES.UTF-8" 2>/dev/null
localedef -i de_DE -f UTF-8 "$T/loc/de_DE.UTF-8" 2>/dev/null
[ -d "$T/loc/es_ES.UTF-8" ] && [ -d "$T/loc/de_DE.UTF-8" ] && ok "locales compiled (private LOCPATH)" ||
	{ bad "localedef"; exit 1; }

# A configuration with one mistake, for --check.
mkdir -p "$T/etc/rules"
printf '[Match]\nColour=blue\n[Action]\nIgnore=yes\n' >"$T/etc/rules/10-x.rules"

# run LOCALE OUT COMMAND...: stdout and stderr of COMMAND under LOCALE into OUT
run() {
	local loc=$1 out=$2; shift 2
	env -i PATH=/usr/bin:/bin LOCPATH="$T/loc" LC_ALL="$loc" "$@" >"$T/$out" 2>&1
}
libexec=$(ls -d "$I"/libexec/roamvpn 2>/dev/null || ls -d "$I"/lib*/roamvpn 2>/dev/null | head -1)

for loc in es_ES.UTF-8 de_DE.UTF-8 C; do
	run "$loc" ctl-help "$I/bin/roamvpnctl" --help
	run "$loc" ctl-usage "$I/bin/roamvpnctl" frobnicate
	run "$loc" d-help "$I/sbin/roamvpnd" --help
	run "$loc" d-check "$I/sbin/roamvpnd" --check --config-dir "$T/etc"
	run "$loc" e-help "$libexec/roamvpn-engine" --help
	run "$loc" hook env ROAMVPN_HOOK_SOCKET="$T/nosock" "$libexec/roamvpn-hook"
	case $loc in
	es_*)
		has "es: roamvpnctl --help" "$T/ctl-help" "Uso: roamvpnctl [OPCIONES] ORDEN [ARGUMENTOS]"
		has "es: roamvpnctl --help, a command" "$T/ctl-help" "arranca un túnel (hasta el próximo cambio de red)"
		has "es: roamvpnctl --help, exit codes" "$T/ctl-help" "3 roamvpnd no está en ejecución"
		has "es: usage error" "$T/ctl-usage" "Orden desconocida frobnicate"
		has "es: roamvpnd --help" "$T/d-help" "Directorio de configuración"
		has "es: roamvpnd --check message" "$T/d-check" "10-x.rules:2: clave desconocida Colour= en [Match]"
		has "es: roamvpn-engine --help" "$T/e-help" "Uso: roamvpn-engine"
		has "es: roamvpn-hook error" "$T/hook" "roamvpn-hook: no se puede contactar con roamvpnd"
		;;
	de_*)
		has "de: roamvpnctl --help" "$T/ctl-help" "Aufruf: roamvpnctl [OPTIONEN] BEFEHL [ARGUMENTE]"
		has "de: roamvpnctl --help, a command" "$T/ctl-help" "startet einen Tunnel (bis zur nächsten Netzänderung)"
		has "de: roamvpnctl --help, exit codes" "$T/ctl-help" "3 roamvpnd läuft nicht"
		has "de: usage error" "$T/ctl-usage" "Unbekannter Befehl frobnicate"
		has "de: roamvpnd --help" "$T/d-help" "Konfigurationsverzeichnis"
		has "de: roamvpnd --check message" "$T/d-check" "10-x.rules:2: unbekannter Schlüssel Colour= in [Match]"
		has "de: roamvpn-engine --help" "$T/e-help" "Aufruf: roamvpn-engine"
		has "de: roamvpn-hook error" "$T/hook" "roamvpn-hook: roamvpnd ist unter"
		;;
	C)
		has "C: roamvpnctl --help in English" "$T/ctl-help" "Usage: roamvpnctl [OPTIONS] COMMAND [ARGUMENTS]"
		has "C: roamvpnd --check in English" "$T/d-check" "10-x.rules:2: unknown key Colour= in [Match]"
		;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
