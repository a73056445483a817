/* openvpn.c - the openvpn backend plugin: an OpenVPN client configuration, used as is.
 *
 *   [Tunnel]
 *   Backend=openvpn
 *   [openvpn]
 *   Config=/etc/openvpn/client/corp.ovpn
 *   # only if the server asks for them (auth-user-pass):
 *   Username=alice
 *   Password=alice-password
 *
 * openvpn runs in the foreground with the .ovpn first and our options after it (later
 * options win): roamvpn-hook as --up/--route-up/--down (the report is route-up's,
 * which carries the device, address, pushed routes and dhcp-options), --route-noexec
 * (routes are the daemon's, so [Tunnel] Routes= can win and a stop removes them),
 * --auth-retry none (a refused password ends the program instead of looping). The
 * hook's socket is passed with --setenv: OpenVPN gives its scripts only its own
 * variables. Username and password reach OpenVPN on its stdin (--auth-user-pass
 * /dev/stdin, read once at start), never argv or the environment.
 * The .ovpn can name programs OpenVPN runs as root, so it must be root's and not
 * writable by group or others. Failures are named from OpenVPN's messages.
 */
#include "config.h"

#include <errno.h>
#include <gmodule.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-program.h"
#include "error.h"
#include "hook-server.h"
#include "ini.h"
#include "validate.h"

#define OPENVPN_PROGRAM "openvpn"
/* A silent server makes OpenVPN retry forever: this bounds the login. */
#define UP_TIMEOUT_S 60
/* OpenVPN's USER_PASS_LEN (misc.h) is 4096 including the NUL. */
#define CREDENTIAL_MAX 4095

struct openvpn_config {
	char *config_path;	/* Config= */
	char *username, *password;
	char *ifname;		/* [Tunnel] Interface=, or NULL: the .ovpn's dev */
	GPtrArray *remotes;	/* struct rv_server *: the .ovpn's remote lines, read at parse */
};

static void openvpn_free_config(void *data)
{
	struct openvpn_config *c = data;

	if (!c)
		return;
	g_free(c->config_path);
	g_free(c->username);
	rv_secret_free(c->password);
	g_free(c->ifname);
	if (c->remotes)
		g_ptr_array_unref(c->remotes);
	g_free(c);
}

static bool openvpn_config_equal(const void *a, const void *b)
{
	const struct openvpn_config *x = a, *y = b;

	return !g_strcmp0(x->config_path, y->config_path) && !g_strcmp0(x->username, y->username) &&
	       !g_strcmp0(x->password, y->password) && !g_strcmp0(x->ifname, y->ifname) &&
	       rv_servers_equal(x->remotes, y->remotes);
}

/* --- parsing ------------------------------------------------------------------ */

/* The .ovpn: absolute, a regular file, root's and not writable by group or others
 * (its up/down/tls-verify lines are programs OpenVPN runs as root). */
static bool parse_config_path(const struct rv_ini_value *v, void *field)
{
	struct stat st;

	if (!rv_program_stat_file(v, &st))
		return false;
	if (st.st_uid != 0) {
		rv_ini_bad_value(v, "is not owned by root (OpenVPN runs what it names as root)");
		return false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rv_ini_bad_value(v, "is writable by group or others (mode %04o); chmod go-w it",
				 (unsigned)(st.st_mode & 07777));
		return false;
	}
	return rv_ini_parse_string(v, field);
}

/* One line of OpenVPN's credentials: not empty, no control characters, bounded. */
static bool parse_credential(const struct rv_ini_value *v, void *field)
{
	if (strlen(v->value) > CREDENTIAL_MAX) {
		rv_ini_bad_value(v, "is longer than OpenVPN accepts (%d bytes)", CREDENTIAL_MAX);
		return false;
	}
	return rv_program_parse_line(v, field);
}

#define KEY(key, parse, field, flags) \
	RV_INI_KEY("openvpn", key, parse, struct openvpn_config, field, RV_INI_ONCE | (flags), NULL)
static const struct rv_ini_key openvpn_keys[] = {
	KEY("Config", parse_config_path, config_path, RV_INI_REQUIRED),
	KEY("Username", parse_credential, username, 0),
	KEY("Password", parse_credential, password, RV_INI_SECRET),
	RV_INI_KEYS_END
};
#undef KEY

/* The servers the .ovpn names: "remote HOST [PORT [PROTO]]", with "proto" and
 * "port" as defaults (udp 1194). Read once here, safely (a regular file, bounded,
 * never blocking); inline keys in it are wiped with the text. */
static bool read_remotes(struct openvpn_config *c, GPtrArray *errors)
{
	char *text = NULL;
	gsize len = 0;
	g_auto(GStrv) lines = NULL;
	enum rv_server_proto proto = RV_SERVER_UDP;
	guint64 port = 1194;
	int r = rv_ini_read_file(c->config_path, &text, &len, errors);

	if (r == -ENOENT)
		rv_ini_error(errors, c->config_path, 0, "%s", g_strerror(ENOENT));
	if (r < 0)
		return false;
	lines = g_strsplit(text, "\n", -1);
	explicit_bzero(text, len);
	g_free(text);
	for (int i = 0; lines[i]; i++) {
		g_auto(GStrv) w = g_strsplit_set(g_strstrip(lines[i]), " \t", 4);

		if (w[0] && g_str_equal(w[0], "proto") && w[1])
			proto = g_str_has_prefix(w[1], "tcp") ? RV_SERVER_TCP : RV_SERVER_UDP;
		if (w[0] && g_str_equal(w[0], "port") && w[1])
			g_ascii_string_to_unsigned(w[1], 10, 1, 65535, &port, NULL);
	}
	c->remotes = rv_servers_new();
	for (int i = 0; lines[i]; i++) {
		g_auto(GStrv) w = g_strsplit_set(lines[i], " \t", 4);
		guint64 p = port;
		enum rv_server_proto pr = proto;

		if (!w[0] || !g_str_equal(w[0], "remote") || !w[1])
			continue;
		if (w[2])
			g_ascii_string_to_unsigned(w[2], 10, 1, 65535, &p, NULL);
		if (w[2] && w[3])
			pr = g_str_has_prefix(w[3], "tcp") ? RV_SERVER_TCP : RV_SERVER_UDP;
		rv_server_add(c->remotes, w[1], pr, (guint16)p);
	}
	for (int i = 0; lines[i]; i++)
		explicit_bzero(lines[i], strlen(lines[i]));
	return true;
}

static void *openvpn_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	const struct rv_ini_section *s = NULL;
	struct openvpn_config *c = g_new0(struct openvpn_config, 1);
	bool ok = true;

	s = rv_program_parse_section(cfg, "openvpn", "with Config=", openvpn_keys, c, &ok, errors);
	if (!s) {
		openvpn_free_config(c);
		return NULL;
	}
	ok = rv_program_both_or_neither(cfg, s, "Username", "Password", errors) && ok;
	c->ifname = g_strdup(cfg->interface);
	if (ok && c->config_path && !read_remotes(c, errors))
		ok = false;
	if (!ok) {
		openvpn_free_config(c);
		return NULL;
	}
	return c;
}

static void openvpn_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct openvpn_config *c = config;

	(void)net;
	rv_servers_copy(out, c->remotes);
}

static const char *openvpn_device(const struct rv_tunnel_config *cfg)
{
	const struct openvpn_config *c = cfg->parsed;

	return c ? c->ifname : NULL;
}

/* --- running ------------------------------------------------------------------- */

/* OpenVPN 2.6's messages -> what went wrong. It exits 0 after AUTH_FAILED and 1 on
 * an options error; the text tells them apart. */
static const struct rv_failure_rule openvpn_failures[] = {
	{ -1, "AUTH_FAILED", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the username or password" },
	{ -1, "VERIFY ERROR", RV_FAILURE_REFUSED,
	  "the server's certificate is not trusted (the .ovpn's ca and verify-x509-name)" },
	{ -1, "TLS key negotiation failed", RV_FAILURE_UNREACHABLE,
	  "the server does not answer (no TLS handshake)" },
	{ -1, "Cannot resolve host address", RV_FAILURE_UNREACHABLE,
	  "the server's name does not resolve" },
	{ -1, "Options error", RV_FAILURE_OTHER, "the OpenVPN configuration has an error" },
	{ -1, "Cannot open TUN/TAP dev", RV_FAILURE_OTHER, "cannot open the TUN device" },
};

#define ARG(...) g_ptr_array_add(argv, g_strdup_printf(__VA_ARGS__))

static int openvpn_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
			 GError **error)
{
	const struct openvpn_config *c = config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_secret) input = NULL;
	const char *hook = rv_program_hook_path();
	const char *socket = rv_hook_server_path();
	struct rv_program_spec spec = {
		.name = OPENVPN_PROGRAM,
		.rules = openvpn_failures,
		.n_rules = G_N_ELEMENTS(openvpn_failures),
		.up_timeout_s = UP_TIMEOUT_S,
	};

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [openvpn] configuration");
		return -EINVAL;
	}
	ARG(OPENVPN_PROGRAM);
	ARG("--config");
	ARG("%s", c->config_path);
	/* Everything below overrides the .ovpn (OpenVPN: the last one wins). Its own
	 * up/down scripts (update-resolv-conf) would change DNS behind our back. */
	ARG("--script-security");
	ARG("2");
	for (const char *const *opt = (const char *const[]){ "--up", "--route-up",
			"--route-pre-down", "--down", NULL }; *opt; opt++) {
		ARG("%s", *opt);
		ARG("%s", hook);
	}
	ARG("--route-noexec");
	if (socket) {
		ARG("--setenv");
		ARG("ROAMVPN_HOOK_SOCKET");
		ARG("%s", socket);
	}
	ARG("--auth-retry");
	ARG("none");
	if (c->ifname) {
		ARG("--dev");
		ARG("%s", c->ifname);
		ARG("--dev-type");
		ARG("tun");
	}
	if (c->username) {
		input = g_strdup_printf("%s\n%s\n", c->username, c->password);
		spec.secret = input;
		spec.secret_len = strlen(input);
		ARG("--auth-user-pass");
		ARG("/dev/stdin");
	}
	g_ptr_array_add(argv, NULL);
	spec.argv = (char **)argv->pdata;
	return rv_program_start(t, trigger, &spec, error);
}

#undef ARG

static const char *const openvpn_programs[] = { OPENVPN_PROGRAM, NULL };

static const struct rv_backend openvpn_backend = {
	.name = "openvpn",
	.abi = RV_BACKEND_ABI,
	.parse = openvpn_parse,
	.free_config = openvpn_free_config,
	.config_equal = openvpn_config_equal,
	.device = openvpn_device,
	.start = openvpn_start,
	.stop = rv_program_stop,
	.programs = openvpn_programs,
	.servers = openvpn_servers,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&openvpn_backend);
}
