# Copyright 2026 roamvpn developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit bash-completion-r1 git-r3 meson optfeature systemd

DESCRIPTION="VPN that comes up by itself on untrusted networks (netifrc, OpenRC, D-Bus)"
# The project's public address is not fixed yet: HOMEPAGE and EGIT_REPO_URI are
# placeholders. Point git-r3 at your clone (see packaging/gentoo/README.md):
#   EGIT_OVERRIDE_REPO_ROAMVPN_ROAMVPN=file:///path/to/roamvpn emerge roamvpn
HOMEPAGE="https://github.com/roamvpn/roamvpn"
EGIT_REPO_URI="https://github.com/roamvpn/roamvpn.git"

LICENSE="LGPL-2.1+"
SLOT="0"
IUSE="applet ipsec openconnect +openrc openvpn pptp systemd test vpnc"
RESTRICT="!test? ( test )"

DEPEND="
	>=dev-libs/glib-2.74:2
	>=sys-apps/dbus-1.12
	>=dev-libs/libnl-3.4:3
	>=dev-libs/libsodium-1.0.18:=
	>=dev-libs/openssl-3.0:=
	>=sys-libs/libseccomp-2.5
	>=net-firewall/nftables-1.0:=
	applet? (
		x11-libs/gtk+:3
		dev-libs/libayatana-appindicator
		x11-libs/libnotify
	)
"
RDEPEND="${DEPEND}
	acct-group/netdev
	openrc? (
		sys-apps/openrc
		net-misc/netifrc
	)
	pptp? (
		net-dialup/ppp
		net-dialup/pptpclient
	)
	systemd? ( sys-apps/systemd )
	vpnc? ( net-vpn/vpnc )
	openvpn? ( net-vpn/openvpn )
	openconnect? ( net-vpn/openconnect )
	ipsec? ( net-vpn/strongswan )
"
BDEPEND="
	app-text/scdoc
	sys-devel/gettext
	virtual/pkgconfig
	test? ( app-misc/jq )
"

src_configure() {
	local plugins=()
	use vpnc && plugins+=( vpnc )
	use pptp && plugins+=( pptp )
	use openvpn && plugins+=( openvpn )
	use openconnect && plugins+=( openconnect )
	use ipsec && plugins+=( ipsec )
	local IFS=,
	local emesonargs=(
		-Dwerror=false
		$(meson_feature systemd)
		-Dsystemdsystemunitdir="$(systemd_get_systemunitdir)"
		$(meson_feature openrc)
		$(meson_feature openrc netifrc)
		-Dnetifrcdir="${EPREFIX}/lib/netifrc/net"
		# Gentoo's place for documentation; the unit's Documentation= follows it.
		-Ddocdir="${EPREFIX}/usr/share/doc/${PF}"
		-Dman=enabled
		-Dcompletion=enabled
		-Dbashcompletiondir="$(get_bashcompdir)"
		-Dzshcompletiondir="${EPREFIX}/usr/share/zsh/site-functions"
		$(meson_feature applet)
		-Dplugins="${plugins[*]}"
		# The namespace and VM suites need root and a lab: not in the sandbox.
		-Dnetns_tests=false
		-Dvm_tests=disabled
	)
	unset IFS
	meson_src_configure
}

src_test() {
	meson_src_test --suite unit
}

src_install() {
	meson_src_install
	keepdir /etc/roamvpn/rules
	keepdir /etc/roamvpn/tunnels
	fperms 0700 /etc/roamvpn/tunnels
}

pkg_postinst() {
	if use openrc; then
		elog "Start roamvpnd at boot with:"
		elog "  rc-update add roamvpnd default"
		elog "The netifrc module (/lib/netifrc/net/roamvpn.sh) tells it when an"
		elog "interface comes up or goes down; see roamvpnctl(1), hook."
	fi
	if use systemd; then
		elog "Start roamvpnd at boot with: systemctl enable --now roamvpnd"
	fi
	elog "Members of the group netdev may control roamvpnd besides root."
	elog "Tunnels go in /etc/roamvpn/tunnels (mode 600), rules in /etc/roamvpn/rules;"
	elog "see roamvpn.tunnel(5), roamvpn.rules(5) and roamvpnd --check."
	optfeature "desktop authorization (roamvpnctl/applet without root or netdev)" sys-auth/polkit
	optfeature "DNS through resolvconf" net-dns/openresolv
}
