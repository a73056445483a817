/* backend-program.h - what every VPN-program backend does alike, written once: run
 * the program for a tunnel with its secrets on stdin, take its report through
 * roamvpn-hook, name its failures, and stop it.
 *
 * A plugin (vpnc, pptp, openvpn, openconnect, ipsec) builds the argv and the secret
 * text from its parsed configuration and calls rv_program_start(); from then on
 * this module drives the tunnel:
 *  - the program runs in a process group of its own with the children's minimal
 *    environment (rv_backend_child_env), stdin = the secret bytes then end of file
 *    (never argv, never the environment), its output lines in our log (escaped);
 *  - the program's script is roamvpn-hook (rv_program_hook_path()); a "connect"/ip-up
 *    report is parsed (vpnc-script and pppd environments, hook-report.h), the
 *    tunnel file's [Tunnel] Routes= (and, in the manager, DNS=/Domains=) win,
 *    the plugin may add to the result (on_up), and the tunnel is reported up;
 *  - no report within up_timeout_s: stopped, "no connection within N s";
 *  - the program exits by itself: its exit status and output lines are matched
 *    against the plugin's rules to name the failure ("authentication failed",
 *    "server not reachable", ...); an authentication failure holds the tunnel
 *    (no retry until its file changes or `roamvpnctl up`), any other failure is
 *    retried by the supervisor with backoff; a missing program says so;
 *  - rv_program_stop(): SIGTERM to the group (the program's disconnect hook runs),
 *    SIGKILL after the grace period, then exactly one report down.
 */
#pragma once

#include <glib.h>

#include "backend.h"

enum rv_failure {
	RV_FAILURE_OTHER,
	RV_FAILURE_AUTH,	/* credentials refused: held, not retried */
	RV_FAILURE_UNREACHABLE,	/* the server did not answer */
	RV_FAILURE_REFUSED,	/* the server answered but refused (proposal, MPPE, ...) */
};

/* One way a program says why it failed. A rule matches when its exit status
 * matches (-1: any) and, if output is set, some line of the program's output
 * contains it. First match wins. */
struct rv_failure_rule {
	int exit_status;
	const char *output;
	enum rv_failure failure;
	const char *message;	/* "authentication failed (group secret or password refused)" */
};

struct rv_program;

/* After the report is parsed, before the tunnel is reported up: env is the hook's
 * environment (untrusted bytes), net may be changed (e.g. net->banner). */
typedef void (*rv_program_up_fn)(struct rv_program *program, struct rv_tunnel_net *net,
				 GHashTable *env, void *user_data);
/* The run is over (failed, stopped, or never started): once, before the run is
 * freed; a plugin removes what it left for the program (a secrets file). */
typedef void (*rv_program_end_fn)(void *user_data);

struct rv_program_spec {
	const char *name;		/* "vpnc": log lines and messages */
	char **argv;			/* argv[0] found in the children's PATH */
	const char *secret;		/* written to stdin, then end of file; may be NULL */
	gsize secret_len;
	const struct rv_failure_rule *rules;
	gsize n_rules;
	/* Lines a program says and keeps running (a daemon such as charon, which does
	 * not exit when its connection fails): before the tunnel is up, a line that
	 * contains one's output ends the program at once, named by that rule. */
	const struct rv_failure_rule *fatal_lines;
	gsize n_fatal_lines;
	guint up_timeout_s;		/* 0: wait as long as the program runs */
	guint stop_grace_ms;		/* 0: 5000 */
	rv_program_up_fn on_up;		/* may be NULL */
	rv_program_end_fn on_end;	/* may be NULL */
	void *user_data;
};

/* Starts the program for t (t->backend_data is set to the run). 0, or a negative
 * errno with error set ("vpnc is not installed", ...). */
int rv_program_start(struct rv_tunnel *t, const struct rv_link *trigger,
		     const struct rv_program_spec *spec, GError **error);
/* The backend's stop(): ends the program; reports down once it is gone. */
void rv_program_stop(struct rv_tunnel *t);

/* The roamvpn-hook a program is given as its script: $ROAMVPN_HOOK_PATH or HOOK_PATH. */
const char *rv_program_hook_path(void);
/* For --check: is program installed (in the PATH children get)? The full path, or
 * NULL. */
char *rv_program_find(const char *program);
/* For --check: every tunnel's backend's programs (struct rv_backend .programs) are
 * installed, else "FILE: Backend=NAME runs PROGRAM, which is not installed".
 * configs: name -> struct rv_tunnel_config *. Returns 0 or -ENOENT. */
int rv_backend_check_programs(GHashTable *configs, GPtrArray *errors);
/* A roamvpn-hook report from the program `who` runs for t with configuration cfg
 * (also the exec backend's Report=hook): returns 1 with *net set when it says "up"
 * and t is waiting for that (STARTING and waiting true); [Tunnel] Routes= is
 * already applied over the pushed routes (DNS=/Domains= are the manager's). 0 when
 * there is nothing to do (disconnect, other reasons, nobody waiting); a negative
 * errno with error set for a report that makes no sense. */
int rv_program_take_report(struct rv_tunnel *t, const struct rv_tunnel_config *cfg,
			   const char *who, bool waiting, char **argv, GHashTable *env,
			   struct rv_tunnel_net **net, GError **error);
/* --- parsing a plugin's section (with ini.h's key tables) --- */
struct rv_ini_section;
struct rv_ini_value;
/* The one [name] section of cfg: other sections than [Tunnel] and a repeated [name]
 * are FILE:LINE errors (and *ok = false; the section is still returned so that its
 * keys are checked too); none at all is "Backend=name needs a [name] section
 * <what>" and NULL. */
const struct rv_ini_section *rv_program_section(const struct rv_tunnel_config *cfg,
						const char *name, const char *what, bool *ok,
						GPtrArray *errors);
/* What every plugin's parse() starts with: rv_program_section() and then its key
 * table applied to config (*ok false on any error). NULL when there is no [name]
 * section, so the caller frees config and returns. */
struct rv_ini_key;
const struct rv_ini_section *rv_program_parse_section(const struct rv_tunnel_config *cfg,
						      const char *name, const char *what,
						      const struct rv_ini_key *keys, void *config,
						      bool *ok, GPtrArray *errors);
/* Two keys that only make sense together (Username= and Password=): one without
 * the other is "[name] needs both A= and B=, or neither" at the section's line. */
bool rv_program_both_or_neither(const struct rv_tunnel_config *cfg,
				const struct rv_ini_section *s, const char *a, const char *b,
				GPtrArray *errors);
/* Key table parsers (char ** fields): a host name or address and nothing else (safe
 * as one argument, even where a shell sees it); a one-line value, not empty, no
 * control characters. */
bool rv_program_parse_host(const struct rv_ini_value *v, void *field);
bool rv_program_parse_line(const struct rv_ini_value *v, void *field);
/* For a key naming a file the program reads (vpnc's and OpenVPN's Config=): an
 * absolute path to a regular file (a FIFO would block a reader, a device never
 * end); *st is filled for the caller's owner and mode rules. Errors carry the
 * tunnel file's line. */
struct stat;
bool rv_program_stat_file(const struct rv_ini_value *v, struct stat *st);

/* Secret text for a program's stdin: freed with the bytes wiped first. */
void rv_secret_free(char *secret);
typedef char rv_secret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_secret, rv_secret_free)
