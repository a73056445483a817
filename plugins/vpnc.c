/* vpnc.c - the vpnc backend plugin: Cisco-compatible IPsec (IKEv1 XAuth) with vpnc.
 *
 *   [Tunnel]
 *   Backend=vpnc
 *   [vpnc]
 *   Config=/etc/vpnc/corp.conf      # an existing vpnc.conf, read by vpnc itself
 *   # or inline:
 *   Gateway=vpn.corp.example
 *   ID=corp
 *   Secret=group-psk
 *   Username=alice
 *   Password=alice-password
 *   # optional: NATTMode=, DHGroup=, PFS=, Domain=, LocalPort=, DPDIdleTimeout=, Vendor=
 *
 * vpnc runs in the foreground (--no-detach --non-inter) with roamvpn-hook as its
 * script and the tunnel's device name (--ifname: [Tunnel] Interface=, else the
 * tunnel's name). Inline settings reach vpnc as a configuration on its stdin
 * ("vpnc ... -": options on the command line win over files, the first file wins
 * over later ones), so no secret is ever in argv or the environment. A Config= file
 * must be root's and mode 600, as our own files; vpnc reads it, and our --script
 * and --ifname override what it says. The hook's report (address, split routes,
 * DNS, domain, banner) becomes the tunnel; [Tunnel] DNS=/Domains=/Routes= still win.
 * Failures are named from vpnc's messages (backend-program.h).
 */
#include "config.h"

#include <errno.h>
#include <gmodule.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-program.h"
#include "error.h"
#include "hook-server.h"
#include "ini.h"
#include "validate.h"

#define VPNC_PROGRAM "vpnc"
/* vpnc gives up on a silent gateway by itself; this bounds the whole login. */
#define UP_TIMEOUT_S 60
#define BANNER_MAX 2048

struct vpnc_config {
	char *config_path;	/* Config= */
	char *gateway, *id, *secret, *username, *password;
	char *natt_mode, *dh_group, *pfs, *domain, *vendor;
	guint local_port, dpd_idle;
	bool have_local_port, have_dpd_idle;
	char *ifname;		/* the device vpnc creates */
	GPtrArray *config_servers;	/* Config='s "IPSec gateway" lines, read at parse */
};

static void vpnc_free_config(void *data)
{
	struct vpnc_config *c = data;

	if (!c)
		return;
	g_free(c->config_path);
	g_free(c->gateway);
	g_free(c->id);
	rv_secret_free(c->secret);
	g_free(c->username);
	rv_secret_free(c->password);
	g_free(c->natt_mode);
	g_free(c->dh_group);
	g_free(c->pfs);
	g_free(c->domain);
	g_free(c->vendor);
	g_free(c->ifname);
	if (c->config_servers)
		g_ptr_array_unref(c->config_servers);
	g_free(c);
}

static bool vpnc_config_equal(const void *a, const void *b)
{
	const struct vpnc_config *x = a, *y = b;

	return !g_strcmp0(x->config_path, y->config_path) && !g_strcmp0(x->gateway, y->gateway) &&
	       !g_strcmp0(x->id, y->id) && !g_strcmp0(x->secret, y->secret) &&
	       !g_strcmp0(x->username, y->username) && !g_strcmp0(x->password, y->password) &&
	       !g_strcmp0(x->natt_mode, y->natt_mode) && !g_strcmp0(x->dh_group, y->dh_group) &&
	       !g_strcmp0(x->pfs, y->pfs) && !g_strcmp0(x->domain, y->domain) &&
	       !g_strcmp0(x->vendor, y->vendor) && x->have_local_port == y->have_local_port &&
	       x->local_port == y->local_port && x->have_dpd_idle == y->have_dpd_idle &&
	       x->dpd_idle == y->dpd_idle && !g_strcmp0(x->ifname, y->ifname) &&
	       rv_servers_equal(x->config_servers, y->config_servers);
}

/* --- parsing ------------------------------------------------------------------ */

/* An absolute path to a file vpnc will read: a regular file (the kill switch reads
 * its gateway too; a FIFO would block that reader, a device never end), root's,
 * mode 600 (it holds secrets). */
static bool parse_config_path(const struct rv_ini_value *v, void *field)
{
	struct stat st;

	if (!rv_program_stat_file(v, &st))
		return false;
	if (rv_ini_check_secret_file(v->value, v->errors) < 0)
		return false;
	return rv_ini_parse_string(v, field);
}

static bool parse_local_port(const struct rv_ini_value *v, void *field)
{
	struct vpnc_config *c = v->target;

	c->have_local_port = true;
	return rv_ini_parse_uint(v, field);
}

/* vpnc: 0 turns dead peer detection off, else 10 to 86400 seconds. */
static bool parse_dpd_idle(const struct rv_ini_value *v, void *field)
{
	struct vpnc_config *c = v->target;
	guint64 n;

	c->have_dpd_idle = true;
	if (!g_ascii_string_to_unsigned(v->value, 10, 0, 86400, &n, NULL) || (n > 0 && n < 10)) {
		rv_ini_bad_value(v, "is not 0 (off) or 10 to 86400 seconds");
		return false;
	}
	*(guint *)field = (guint)n;
	return true;
}

static const char *const natt_modes[] = { "natt", "none", "force-natt", "cisco-udp", NULL };
static const char *const dh_groups[] = { "dh1", "dh2", "dh5", "dh14", "dh15", "dh16", "dh17",
					 "dh18", NULL };
static const char *const pfs_groups[] = { "nopfs", "dh1", "dh2", "dh5", "dh14", "dh15", "dh16",
					  "dh17", "dh18", "server", NULL };
static const char *const vendors[] = { "cisco", "netscreen", "fortigate", NULL };
static const struct rv_ini_uint_range port_range = { 0, 65535, "a port number" };

#define KEY(key, parse, field, flags, data) \
	RV_INI_KEY("vpnc", key, parse, struct vpnc_config, field, RV_INI_ONCE | (flags), data)
static const struct rv_ini_key vpnc_keys[] = {
	KEY("Config", parse_config_path, config_path, 0, NULL),
	KEY("Gateway", rv_program_parse_host, gateway, 0, NULL),
	KEY("ID", rv_program_parse_line, id, 0, NULL),
	KEY("Secret", rv_program_parse_line, secret, RV_INI_SECRET, NULL),
	KEY("Username", rv_program_parse_line, username, 0, NULL),
	KEY("Password", rv_program_parse_line, password, RV_INI_SECRET, NULL),
	KEY("NATTMode", rv_ini_parse_choice, natt_mode, 0, natt_modes),
	KEY("DHGroup", rv_ini_parse_choice, dh_group, 0, dh_groups),
	KEY("PFS", rv_ini_parse_choice, pfs, 0, pfs_groups),
	KEY("Domain", rv_program_parse_line, domain, 0, NULL),
	KEY("LocalPort", parse_local_port, local_port, 0, &port_range),
	KEY("DPDIdleTimeout", parse_dpd_idle, dpd_idle, 0, NULL),
	KEY("Vendor", rv_ini_parse_choice, vendor, 0, vendors),
	RV_INI_KEYS_END
};
#undef KEY

/* The gateway(s) a Config= file names ("IPSec gateway HOST"), for servers(): read
 * once here, safely (a regular file, bounded, never blocking), and wiped (the file
 * holds the group secret and the password). */
static bool read_config_gateways(struct vpnc_config *c, GPtrArray *errors)
{
	char *text = NULL;
	gsize len = 0;
	int r = rv_ini_read_file(c->config_path, &text, &len, errors);

	if (r == -ENOENT)
		rv_ini_error(errors, c->config_path, 0, "%s", g_strerror(ENOENT));
	if (r < 0)
		return false;
	c->config_servers = rv_servers_new();
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line = g_strstrip(line);
		if (g_str_has_prefix(line, "IPSec gateway "))
			rv_server_add_ipsec(c->config_servers, g_strstrip(line + strlen("IPSec gateway ")), true);
	}
	explicit_bzero(text, len);
	g_free(text);
	return true;
}

static void *vpnc_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	bool ok = true;
	struct vpnc_config *c = g_new0(struct vpnc_config, 1);
	const struct rv_ini_section *s = rv_program_parse_section(
		cfg, "vpnc", "with Config= or Gateway=, ID=, Secret=, Username=, Password=", vpnc_keys, c,
		&ok, errors);

	if (!s) {
		vpnc_free_config(c);
		return NULL;
	}
	if (rv_ini_find_entry(s, "Config")) {
		if (c->gateway || c->id || c->secret || c->username || c->password) {
			rv_ini_error(errors, cfg->path, s->line,
				     "[vpnc] has Config= and inline Gateway=/ID=/Secret=/Username=/Password=: "
				     "use one or the other");
			ok = false;
		}
		if (c->config_path && !read_config_gateways(c, errors))
			ok = false;
	} else {
		static const struct { const char *key; size_t offset; } required[] = {
			{ "Gateway", offsetof(struct vpnc_config, gateway) },
			{ "ID", offsetof(struct vpnc_config, id) },
			{ "Secret", offsetof(struct vpnc_config, secret) },
			{ "Username", offsetof(struct vpnc_config, username) },
			{ "Password", offsetof(struct vpnc_config, password) },
		};

		for (gsize i = 0; i < G_N_ELEMENTS(required); i++) {
			if (!*(char **)((char *)c + required[i].offset) && !rv_ini_find_entry(s, required[i].key)) {
				rv_ini_error(errors, cfg->path, s->line,
					     "[vpnc] has neither Config= nor %s= (vpnc runs without a terminal: "
					     "every setting must be in the file)", required[i].key);
				ok = false;
			}
		}
	}
	/* vpnc's device: the tunnel's Interface=, else its name (a valid ifname). */
	c->ifname = g_strdup(cfg->interface ? cfg->interface : cfg->name);
	if (!ok) {
		vpnc_free_config(c);
		return NULL;
	}
	return c;
}

/* IKE, NAT-T, Cisco's UDP 10000 and ESP to the gateway (inline or Config='s). */
static void vpnc_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct vpnc_config *c = config;

	(void)net;
	rv_server_add_ipsec(out, c->gateway, true);
	rv_servers_copy(out, c->config_servers);
}

static const char *vpnc_device(const struct rv_tunnel_config *cfg)
{
	const struct vpnc_config *c = cfg->parsed;

	return c ? c->ifname : NULL;
}

/* --- running ------------------------------------------------------------------- */

/* vpnc's messages (vpnc.c, tunip.c) -> what went wrong. Exit status 1 is every
 * failure; the text tells them apart. */
static const struct rv_failure_rule vpnc_failures[] = {
	{ -1, "hash comparison failed", RV_FAILURE_AUTH,
	  "authentication failed: the gateway refused the group ID or group secret" },
	{ -1, "authentication unsuccessful", RV_FAILURE_AUTH,
	  "authentication failed: wrong username or password" },
	{ -1, "AUTHENTICATION_FAILED", RV_FAILURE_AUTH, "authentication failed" },
	{ -1, "no response from target", RV_FAILURE_UNREACHABLE,
	  "the gateway does not answer (no response from target)" },
	{ -1, "Network is unreachable", RV_FAILURE_UNREACHABLE, "the gateway is unreachable" },
	{ -1, "unknown host", RV_FAILURE_UNREACHABLE, "the gateway's name does not resolve" },
	{ -1, "NO_PROPOSAL_CHOSEN", RV_FAILURE_REFUSED,
	  "the gateway accepts none of the proposals (try DHGroup=, PFS=)" },
};

/* The inline settings as a vpnc configuration for its stdin. */
static char *vpnc_input(const struct vpnc_config *c)
{
	/* Sized up front: a GString that grows would leave copies of the secrets behind
	 * in freed memory; only the final buffer is wiped (rv_secret). */
	GString *in = g_string_sized_new(128 + strlen(c->gateway) + strlen(c->id) + strlen(c->secret) +
					 strlen(c->username) + strlen(c->password) +
					 (c->domain ? strlen(c->domain) : 0));

	g_string_append_printf(in, "IPSec gateway %s\n", c->gateway);
	g_string_append_printf(in, "IPSec ID %s\n", c->id);
	g_string_append_printf(in, "IPSec secret %s\n", c->secret);
	g_string_append_printf(in, "Xauth username %s\n", c->username);
	g_string_append_printf(in, "Xauth password %s\n", c->password);
	if (c->domain)
		g_string_append_printf(in, "Domain %s\n", c->domain);
	return g_string_free(in, FALSE);
}

/* CISCO_BANNER: the gateway's login message, a Tunnel property (escaped, bounded). */
static void vpnc_up(struct rv_program *p, struct rv_tunnel_net *net, GHashTable *env, void *data)
{
	const char *banner = g_hash_table_lookup(env, "CISCO_BANNER");

	if (banner && *banner)
		net->banner = g_utf8_make_valid(banner, MIN(strlen(banner), BANNER_MAX));
}

static int vpnc_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		      GError **error)
{
	const struct vpnc_config *c = config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_secret) input = NULL;
	g_autofree char *state = NULL;
	struct rv_program_spec spec = {
		.name = VPNC_PROGRAM,
		.rules = vpnc_failures,
		.n_rules = G_N_ELEMENTS(vpnc_failures),
		.up_timeout_s = UP_TIMEOUT_S,
		.on_up = vpnc_up,
	};

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [vpnc] configuration");
		return -EINVAL;
	}
	g_ptr_array_add(argv, g_strdup(VPNC_PROGRAM));
	g_ptr_array_add(argv, g_strdup("--no-detach"));
	g_ptr_array_add(argv, g_strdup("--non-inter"));
	/* vpnc runs its script through system(): quoted for the shell. */
	g_ptr_array_add(argv, g_strdup("--script"));
	g_ptr_array_add(argv, g_shell_quote(rv_program_hook_path()));
	g_ptr_array_add(argv, g_strdup("--ifname"));
	g_ptr_array_add(argv, g_strdup(c->ifname));
	/* Not vpnc's default /run/vpnc.pid, which another vpnc may own. */
	state = rv_hook_server_path() ? g_path_get_dirname(rv_hook_server_path())
				       : g_strdup(g_get_tmp_dir());
	g_ptr_array_add(argv, g_strdup("--pid-file"));
	g_ptr_array_add(argv, g_strdup_printf("%s/vpnc-%s.pid", state, t->name));
	if (c->natt_mode) {
		g_ptr_array_add(argv, g_strdup("--natt-mode"));
		g_ptr_array_add(argv, g_strdup(c->natt_mode));
	}
	if (c->dh_group) {
		g_ptr_array_add(argv, g_strdup("--dh"));
		g_ptr_array_add(argv, g_strdup(c->dh_group));
	}
	if (c->pfs) {
		g_ptr_array_add(argv, g_strdup("--pfs"));
		g_ptr_array_add(argv, g_strdup(c->pfs));
	}
	if (c->vendor) {
		g_ptr_array_add(argv, g_strdup("--vendor"));
		g_ptr_array_add(argv, g_strdup(c->vendor));
	}
	if (c->have_local_port) {
		g_ptr_array_add(argv, g_strdup("--local-port"));
		g_ptr_array_add(argv, g_strdup_printf("%u", c->local_port));
	}
	if (c->have_dpd_idle) {
		g_ptr_array_add(argv, g_strdup("--dpd-idle"));
		g_ptr_array_add(argv, g_strdup_printf("%u", c->dpd_idle));
	}
	if (c->config_path) {
		g_ptr_array_add(argv, g_strdup(c->config_path));
	} else {
		input = vpnc_input(c);
		spec.secret = input;
		spec.secret_len = strlen(input);
		g_ptr_array_add(argv, g_strdup("-"));	/* the configuration is on stdin */
	}
	g_ptr_array_add(argv, NULL);
	spec.argv = (char **)argv->pdata;
	return rv_program_start(t, trigger, &spec, error);
}

static const char *const vpnc_programs[] = { VPNC_PROGRAM, NULL };

static const struct rv_backend vpnc_backend = {
	.name = "vpnc",
	.abi = RV_BACKEND_ABI,
	.parse = vpnc_parse,
	.free_config = vpnc_free_config,
	.config_equal = vpnc_config_equal,
	.device = vpnc_device,
	.start = vpnc_start,
	.stop = rv_program_stop,
	.programs = vpnc_programs,
	.servers = vpnc_servers,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&vpnc_backend);
}
