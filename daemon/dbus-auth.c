/* dbus-auth.c - authorization of mutating calls: root, polkit, AdminGroup
 * (see dbus-auth.h for the rule). Each check is a small state machine driven by
 * D-Bus replies: GetConnectionUnixUser, then CheckAuthorization when needed. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "dbus-auth.h"
#include "dbus-mainloop.h"
#include "error.h"
#include "protocol.h"

#ifndef RV_DBUS_GROUP
#define RV_DBUS_GROUP "netdev"
#endif

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_IFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1u
/* A person may take a while to type a password into the agent's dialog. */
#define POLKIT_INTERACTIVE_TIMEOUT_MS (120 * 1000)

struct check {
	DBusConnection *conn;
	DBusMessage *msg;		/* the call being authorized */
	enum rv_dbus_auth auth;
	GVariant *details;		/* a{ss} */
	unsigned long uid;
	DBusPendingCall *pending;
	rv_dbus_auth_done done;
	void *user_data;
};

static char *admin_group;		/* NULL: RV_DBUS_GROUP */
static GList *checks;			/* struct check *, in flight */

void rv_dbus_auth_set_admin_group(const char *group)
{
	g_free(admin_group);
	admin_group = group && *group ? g_strdup(group) : NULL;
}

const char *rv_dbus_auth_action(enum rv_dbus_auth auth)
{
	switch (auth) {
	case RV_AUTH_CONTROL: return RV_POLKIT_ACTION_CONTROL;
	case RV_AUTH_RELOAD: return RV_POLKIT_ACTION_RELOAD;
	default: return NULL;
	}
}

static void check_free(struct check *c)
{
	if (c->pending) {
		dbus_pending_call_cancel(c->pending);
		dbus_pending_call_unref(c->pending);
	}
	dbus_message_unref(c->msg);
	dbus_connection_unref(c->conn);
	g_clear_pointer(&c->details, g_variant_unref);
	g_free(c);
}

static void finish(struct check *c, bool allowed, const GError *error)
{
	checks = g_list_remove(checks, c);
	c->done(allowed, error, c->user_data);
	check_free(c);
}

static void deny(struct check *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void deny(struct check *c, const char *fmt, ...)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(&error, RV_ERROR, RV_ERROR_PERMISSION, text);
	finish(c, false, error);
}

/* getpwuid/getgrouplist go through NSS, which is local files on the machines this
 * runs on; the bus round trips, which can stall, are the asynchronous part. */
static bool uid_in_group(uid_t uid, const char *group_name)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrnam(group_name);
	gid_t gid, groups[256];
	int ngroups = G_N_ELEMENTS(groups);

	if (!pw || !gr)
		return false;
	gid = gr->gr_gid;
	if (pw->pw_gid == gid)
		return true;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		ngroups = G_N_ELEMENTS(groups);	/* truncated: check what we got */
	for (int i = 0; i < ngroups; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

static char *user_label(unsigned long uid)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	return pw ? g_strdup_printf("uid %lu (%s)", uid, pw->pw_name) : g_strdup_printf("uid %lu", uid);
}

static const char *group_name(void)
{
	return admin_group ? admin_group : RV_DBUS_GROUP;
}

/* Who polkit could not be asked about: root and the admin group were checked
 * before, so this is a refusal that says what would have been needed. */
static void deny_without_polkit(struct check *c, const char *why)
{
	g_autofree char *who = user_label(c->uid);

	deny(c, "access denied: %s may not do this: it needs root or group %s%s%s", who,
	     group_name(), why ? " " : "", why ? why : "");
}

static void on_polkit_reply(DBusPendingCall *pending, void *user_data)
{
	struct check *c = user_data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	g_autoptr(GVariant) result = NULL;
	const char *action = rv_dbus_auth_action(c->auth);
	gboolean authorized = FALSE, challenge = FALSE;
	g_autofree char *who = NULL;

	dbus_pending_call_unref(c->pending);
	c->pending = NULL;
	if (!reply) {
		deny_without_polkit(c, "(polkit did not answer)");
		return;
	}
	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
		/* No polkit on this system (ServiceUnknown, NameHasNoOwner), or it is
		 * stuck (NoReply): the documented rule without it. */
		g_autofree char *why = g_strdup_printf("(polkit is not running: %s)",
						       dbus_message_get_error_name(reply));

		dbus_message_unref(reply);
		deny_without_polkit(c, why);
		return;
	}
	result = rv_dbus_message_to_variant(reply);
	dbus_message_unref(reply);
	if (!result || !g_variant_is_of_type(result, G_VARIANT_TYPE("((bba{ss}))"))) {
		deny_without_polkit(c, "(polkit gave an unexpected answer)");
		return;
	}
	g_variant_get(result, "((bb@a{ss}))", &authorized, &challenge, NULL);
	if (authorized) {
		finish(c, true, NULL);
		return;
	}
	who = user_label(c->uid);
	if (challenge)
		deny(c, "access denied: %s needs to authenticate for %s; run it again with an "
		     "authentication agent (e.g. from the desktop session)", who, action);
	else
		deny(c, "access denied: polkit does not allow %s to %s (action %s)", who,
		     c->auth == RV_AUTH_RELOAD ? "reload roamvpn's configuration"
					       : "control roamvpn's tunnels", action);
}

static void ask_polkit(struct check *c)
{
	const char *sender = dbus_message_get_sender(c->msg);
	const char *action = rv_dbus_auth_action(c->auth);
	bool interactive = dbus_message_get_allow_interactive_authorization(c->msg);
	DBusMessage *call = dbus_message_new_method_call(POLKIT_NAME, POLKIT_PATH, POLKIT_IFACE,
							 "CheckAuthorization");
	GVariantBuilder subject;
	g_autoptr(GVariant) args = NULL;
	bool ok;

	g_variant_builder_init(&subject, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&subject, "{sv}", "name", g_variant_new_string(sender));
	args = g_variant_ref_sink(g_variant_new("((s@a{sv})s@a{ss}us)", "system-bus-name",
						g_variant_builder_end(&subject), action,
						g_variant_ref(c->details),
						interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, ""));
	ok = rv_dbus_append_tuple(call, args);
	/* Bus activation of polkitd is wanted here: that is how it starts. */
	if (!ok || !dbus_connection_send_with_reply(c->conn, call, &c->pending,
						    interactive ? POLKIT_INTERACTIVE_TIMEOUT_MS
								: DBUS_TIMEOUT_USE_DEFAULT) ||
	    !c->pending) {
		dbus_message_unref(call);
		deny_without_polkit(c, "(cannot ask polkit)");
		return;
	}
	dbus_message_unref(call);
	dbus_pending_call_set_notify(c->pending, on_polkit_reply, c, NULL);
}

static void on_uid_reply(DBusPendingCall *pending, void *user_data)
{
	struct check *c = user_data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	dbus_uint32_t uid = 0;
	DBusError err;

	dbus_pending_call_unref(c->pending);
	c->pending = NULL;
	dbus_error_init(&err);
	if (!reply || dbus_set_error_from_message(&err, reply) ||
	    !dbus_message_get_args(reply, &err, DBUS_TYPE_UINT32, &uid, DBUS_TYPE_INVALID)) {
		g_autofree char *why = g_strdup(dbus_error_is_set(&err) ? err.message : "no answer");

		dbus_error_free(&err);
		if (reply)
			dbus_message_unref(reply);
		deny(c, "access denied: cannot identify the caller: %s", why);
		return;
	}
	dbus_message_unref(reply);
	c->uid = uid;
	/* Root, ourselves and the admin group first: they need no polkit, and an
	 * AdminGroup that worked before polkit was installed keeps working. */
	if (uid == 0 || uid == (unsigned long)geteuid() || uid_in_group((uid_t)uid, group_name())) {
		finish(c, true, NULL);
		return;
	}
	if (!rv_dbus_auth_action(c->auth)) {
		deny_without_polkit(c, NULL);
		return;
	}
	ask_polkit(c);
}

void rv_dbus_auth_check(DBusConnection *conn, DBusMessage *msg, enum rv_dbus_auth auth,
			GVariant *details, rv_dbus_auth_done done, void *user_data)
{
	const char *sender = dbus_message_get_sender(msg);
	struct check *c;
	DBusMessage *call;

	if (details)
		g_variant_ref_sink(details);
	if (auth == RV_AUTH_ANYONE) {
		g_clear_pointer(&details, g_variant_unref);
		done(true, NULL, user_data);
		return;
	}
	if (!sender) {
		/* Peer-to-peer connection without a bus: the kernel told us who it is. */
		unsigned long peer_uid;
		g_autoptr(GError) error = NULL;

		g_clear_pointer(&details, g_variant_unref);
		if (dbus_connection_get_unix_user(conn, &peer_uid) &&
		    (peer_uid == 0 || peer_uid == (unsigned long)geteuid())) {
			done(true, NULL, user_data);
			return;
		}
		g_set_error(&error, RV_ERROR, RV_ERROR_PERMISSION, "access denied: caller's identity unknown");
		done(false, error, user_data);
		return;
	}

	c = g_new0(struct check, 1);
	c->conn = dbus_connection_ref(conn);
	c->msg = dbus_message_ref(msg);
	c->auth = auth;
	c->details = details ? details : g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0));
	c->done = done;
	c->user_data = user_data;
	checks = g_list_prepend(checks, c);

	call = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
					    "GetConnectionUnixUser");
	if (!dbus_message_append_args(call, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send_with_reply(conn, call, &c->pending, DBUS_TIMEOUT_USE_DEFAULT) ||
	    !c->pending) {
		dbus_message_unref(call);
		deny(c, "access denied: cannot identify the caller: out of memory");
		return;
	}
	dbus_message_unref(call);
	dbus_pending_call_set_notify(c->pending, on_uid_reply, c, NULL);
}

void rv_dbus_auth_cancel_all(void)
{
	g_list_free_full(g_steal_pointer(&checks), (GDestroyNotify)check_free);
	g_clear_pointer(&admin_group, g_free);
}
