/* pptp.c - the pptp backend plugin: PPTP (MS-CHAPv2 + MPPE) with pppd and pptp-linux.
 *
 *   [Tunnel]
 *   Backend=pptp
 *   [pptp]
 *   Server=pptp.corp.example
 *   User=alice
 *   Password=alice-password
 *   # optional: Domain= (MS-CHAP domain), RequireMPPE=yes|no (yes: 128-bit),
 *   #           MTU=, Refuse=pap chap mschap mschap-v2 eap (default: pap chap eap)
 *
 * pppd runs in the foreground (nodetach) with pptp as its pty program, roamvpn-hook
 * as its ip-up/ip-down script and the device named after the tunnel (ifname:
 * [Tunnel] Interface=, else the tunnel's name). The password reaches pppd through
 * its passwordfd plugin reading stdin (backend-program.h writes it there), never
 * argv or the environment. pppd runs the pty command through /bin/sh, so Server=
 * is a host name or address and nothing else (rv_host_valid); the line is built
 * from that and the pptp program's path only.
 *
 * The report: the address and peer from IPCP (pppd configured ppp itself), DNS
 * from usepeerdns (DNS1/DNS2). Routes: [Tunnel] Routes=, else a full tunnel; the
 * server's address is kept off the tunnel (net->endpoint) when Server= is an
 * address, and pptp adds its own host route when Server= is a name (pptp resolves
 * it; we never do a blocking lookup in the daemon). Failures are named from pppd's
 * exit status and messages.
 */
#include "config.h"

#include <errno.h>
#include <gmodule.h>
#include <stddef.h>
#include <string.h>

#include "backend-program.h"
#include "error.h"
#include "hook-server.h"
#include "ini.h"
#include "validate.h"

#define PPPD_PROGRAM "pppd"
#define PPTP_PROGRAM "pptp"
/* pptp gives up on a silent server after its own timeouts; this bounds the login. */
#define UP_TIMEOUT_S 60
/* pppd's MAXSECRETLEN is 256 including the terminating NUL. */
#define PASSWORD_MAX 255

/* Refuse= words, as pppd's refuse-* options. */
enum pptp_auth {
	AUTH_PAP = 1 << 0,
	AUTH_CHAP = 1 << 1,
	AUTH_MSCHAP = 1 << 2,
	AUTH_MSCHAP_V2 = 1 << 3,
	AUTH_EAP = 1 << 4,
};
static const struct {
	const char *word;
	enum pptp_auth bit;
	const char *option;
} auth_methods[] = {
	{ "pap", AUTH_PAP, "refuse-pap" },
	{ "chap", AUTH_CHAP, "refuse-chap" },
	{ "mschap", AUTH_MSCHAP, "refuse-mschap" },
	{ "mschap-v2", AUTH_MSCHAP_V2, "refuse-mschap-v2" },
	{ "eap", AUTH_EAP, "refuse-eap" },
};
/* Without Refuse=: what cannot give MPPE its keys. */
#define REFUSE_DEFAULT (AUTH_PAP | AUTH_CHAP | AUTH_EAP)

struct pptp_config {
	char *server, *user, *password, *domain;
	bool require_mppe;
	guint mtu;		/* 0: pppd's default */
	guint refuse;		/* enum pptp_auth bits */
	bool have_refuse;
	char *ifname;		/* the ppp device pppd creates */
};

static void pptp_free_config(void *data)
{
	struct pptp_config *c = data;

	if (!c)
		return;
	g_free(c->server);
	g_free(c->user);
	rv_secret_free(c->password);
	g_free(c->domain);
	g_free(c->ifname);
	g_free(c);
}

static bool pptp_config_equal(const void *a, const void *b)
{
	const struct pptp_config *x = a, *y = b;

	return !g_strcmp0(x->server, y->server) && !g_strcmp0(x->user, y->user) &&
	       !g_strcmp0(x->password, y->password) && !g_strcmp0(x->domain, y->domain) &&
	       x->require_mppe == y->require_mppe && x->mtu == y->mtu &&
	       x->refuse == y->refuse && !g_strcmp0(x->ifname, y->ifname);
}

/* --- parsing ------------------------------------------------------------------ */

static bool parse_password(const struct rv_ini_value *v, void *field)
{
	if (strlen(v->value) > PASSWORD_MAX) {
		rv_ini_bad_value(v, "is longer than pppd accepts (%d bytes)", PASSWORD_MAX);
		return false;
	}
	return rv_program_parse_line(v, field);
}

/* An MS-CHAP (NetBIOS or DNS) domain: pppd gets it as "DOMAIN\USER". */
static bool parse_domain(const struct rv_ini_value *v, void *field)
{
	if (!rv_domain_valid(v->value)) {
		rv_ini_bad_value(v, "is not a domain name");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

static bool parse_refuse(const struct rv_ini_value *v, void *field)
{
	struct pptp_config *c = v->target;

	c->have_refuse = true;
	for (gsize i = 0; i < G_N_ELEMENTS(auth_methods); i++) {
		if (g_ascii_strcasecmp(v->value, auth_methods[i].word) == 0) {
			*(guint *)field |= auth_methods[i].bit;
			return true;
		}
	}
	rv_ini_bad_value(v, "is not one of pap, chap, mschap, mschap-v2, eap");
	return false;
}

/* PPTP runs over GRE in IP: no larger than an Ethernet frame's payload. */
static const struct rv_ini_uint_range mtu_range = { 576, 1500, "an MTU" };

#define KEY(key, parse, field, flags, data) \
	RV_INI_KEY("pptp", key, parse, struct pptp_config, field, RV_INI_ONCE | (flags), data)
static const struct rv_ini_key pptp_keys[] = {
	KEY("Server", rv_program_parse_host, server, RV_INI_REQUIRED, NULL),
	KEY("User", rv_program_parse_line, user, RV_INI_REQUIRED, NULL),
	KEY("Password", parse_password, password, RV_INI_REQUIRED | RV_INI_SECRET, NULL),
	KEY("Domain", parse_domain, domain, 0, NULL),
	KEY("RequireMPPE", rv_ini_parse_bool, require_mppe, 0, NULL),
	KEY("MTU", rv_ini_parse_uint, mtu, 0, &mtu_range),
	KEY("Refuse", parse_refuse, refuse, RV_INI_LIST, NULL),
	RV_INI_KEYS_END
};
#undef KEY

static void *pptp_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	const struct rv_ini_section *s = NULL;
	struct pptp_config *c = g_new0(struct pptp_config, 1);
	bool ok = true;

	c->require_mppe = true;
	s = rv_program_parse_section(cfg, "pptp", "with Server=, User=, Password=", pptp_keys, c, &ok,
				     errors);
	if (!s) {
		pptp_free_config(c);
		return NULL;
	}
	if (!c->have_refuse)
		c->refuse = REFUSE_DEFAULT;
	if (c->require_mppe && (c->refuse & AUTH_MSCHAP) && (c->refuse & AUTH_MSCHAP_V2)) {
		const struct rv_ini_entry *e = rv_ini_find_entry(s, "Refuse");

		rv_ini_error(errors, cfg->path, e ? e->line : s->line,
			     "Refuse= refuses both MS-CHAP versions, but MPPE (RequireMPPE=yes) "
			     "takes its keys from MS-CHAP");
		ok = false;
	}
	c->ifname = g_strdup(cfg->interface ? cfg->interface : cfg->name);
	if (!ok) {
		pptp_free_config(c);
		return NULL;
	}
	return c;
}

/* PPTP's control connection (TCP 1723) and its GRE data. */
static void pptp_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct pptp_config *c = config;

	(void)net;
	rv_server_add(out, c->server, RV_SERVER_TCP, 1723);
	rv_server_add(out, c->server, RV_SERVER_GRE, 0);
}

static const char *pptp_device(const struct rv_tunnel_config *cfg)
{
	const struct pptp_config *c = cfg->parsed;

	return c ? c->ifname : NULL;
}

/* --- running ------------------------------------------------------------------- */

/* pppd's exit status (pppd(8) EXIT STATUS) and messages -> what went wrong. */
static const struct rv_failure_rule pptp_failures[] = {
	{ 19, NULL, RV_FAILURE_AUTH,
	  "authentication failed: the server refused the user name or password" },
	/* The server's pppd may hang up before ours gives up: exit 16, but said so. */
	{ -1, "CHAP authentication failed", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the user name or password" },
	{ -1, "PAP authentication failed", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the user name or password" },
	{ -1, "MPPE required but peer negotiation failed", RV_FAILURE_REFUSED,
	  "the server does not offer 128-bit MPPE encryption (RequireMPPE=no accepts an "
	  "unencrypted tunnel)" },
	{ -1, "MPPE required, but kernel has no support", RV_FAILURE_OTHER,
	  "this kernel has no MPPE (load ppp_mppe)" },
	{ 4, NULL, RV_FAILURE_OTHER,
	  "this kernel has no PPP support (load ppp_generic, ppp_async and ppp_mppe)" },
	{ 2, NULL, RV_FAILURE_OTHER, "pppd refused an option" },
	{ 8, NULL, RV_FAILURE_UNREACHABLE, "the PPTP server could not be reached" },
	{ 16, NULL, RV_FAILURE_UNREACHABLE,
	  "the PPTP connection ended (server unreachable, or it refused the call)" },
	{ 15, NULL, RV_FAILURE_UNREACHABLE, "the server stopped answering (LCP echo)" },
	{ 10, NULL, RV_FAILURE_REFUSED, "PPP negotiation with the server failed" },
};

/* Routes: [Tunnel] Routes= (already applied), else everything, with the server's
 * own address kept off the tunnel. */
static void pptp_up(struct rv_program *p, struct rv_tunnel_net *net, GHashTable *env, void *data)
{
	const struct pptp_config *c = data;

	if (net->routes->len == 0)
		g_ptr_array_add(net->routes, g_strdup("0.0.0.0/0"));
	if (!net->endpoint && rv_ip_valid(c->server, NULL))
		net->endpoint = g_strdup(c->server);
}

#define ARG(...) g_ptr_array_add(argv, g_strdup_printf(__VA_ARGS__))

static int pptp_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		      GError **error)
{
	const struct pptp_config *c = config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *pptp = NULL;
	g_autofree char *quoted = NULL;
	const char *socket = rv_hook_server_path();
	struct rv_program_spec spec = {
		.name = PPPD_PROGRAM,
		.rules = pptp_failures,
		.n_rules = G_N_ELEMENTS(pptp_failures),
		.up_timeout_s = UP_TIMEOUT_S,
		.on_up = pptp_up,
		.user_data = (void *)c,
	};

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [pptp] configuration");
		return -EINVAL;
	}
	pptp = rv_program_find(PPTP_PROGRAM);
	if (!pptp) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED,
			    "pptp is not installed (pptp-linux: pptp not found)");
		return -ENOENT;
	}
	ARG(PPPD_PROGRAM);
	/* Debian's /etc/ppp/options says "auth": the server does not authenticate to us. */
	ARG("nodetach");
	ARG("noauth");
	ARG("nodefaultroute");
	ARG("usepeerdns");
	ARG("ifname");
	ARG("%s", c->ifname);
	ARG("user");
	if (c->domain)
		ARG("%s\\%s", c->domain, c->user);
	else
		ARG("%s", c->user);
	/* The password: stdin, read by pppd's passwordfd plugin (to end of file). */
	ARG("plugin");
	ARG("passwordfd.so");
	ARG("passwordfd");
	ARG("0");
	/* pppd runs this through /bin/sh -c: Server= is a validated host, the path is
	 * quoted. With an address the daemon keeps the route to it; with a name pptp
	 * adds its own host route. */
	quoted = g_shell_quote(pptp);
	ARG("pty");
	ARG("%s %s --nolaunchpppd%s", quoted, c->server,
	    rv_ip_valid(c->server, NULL) ? " --nohostroute" : "");
	ARG("ip-up-script");
	ARG("%s", rv_program_hook_path());
	ARG("ip-down-script");
	ARG("%s", rv_program_hook_path());
	/* pppd runs its scripts with a cleared environment; "set" adds to it. */
	if (socket) {
		ARG("set");
		ARG("ROAMVPN_HOOK_SOCKET=%s", socket);
	}
	if (c->require_mppe)
		ARG("require-mppe-128");
	for (gsize i = 0; i < G_N_ELEMENTS(auth_methods); i++)
		if (c->refuse & auth_methods[i].bit)
			ARG("%s", auth_methods[i].option);
	/* Compression other than MPPE's is not PPTP's; VJ over GRE only costs. */
	ARG("nobsdcomp");
	ARG("nodeflate");
	ARG("novj");
	if (c->mtu) {
		ARG("mtu");
		ARG("%u", c->mtu);
		ARG("mru");
		ARG("%u", c->mtu);
	}
	/* A dead server is noticed within ~30 s; the supervisor then retries. */
	ARG("lcp-echo-interval");
	ARG("10");
	ARG("lcp-echo-failure");
	ARG("3");
	g_ptr_array_add(argv, NULL);
	spec.argv = (char **)argv->pdata;
	spec.secret = c->password;
	spec.secret_len = strlen(c->password);
	return rv_program_start(t, trigger, &spec, error);
}

#undef ARG

static const char *const pptp_programs[] = { PPPD_PROGRAM, PPTP_PROGRAM, NULL };

static const struct rv_backend pptp_backend = {
	.name = "pptp",
	.abi = RV_BACKEND_ABI,
	.parse = pptp_parse,
	.free_config = pptp_free_config,
	.config_equal = pptp_config_equal,
	.device = pptp_device,
	.start = pptp_start,
	.stop = rv_program_stop,
	.programs = pptp_programs,
	.servers = pptp_servers,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&pptp_backend);
}
