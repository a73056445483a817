/* dbus-auth.h - may this caller make this call? Asked without blocking.
 *
 * Mutating methods are authorized here, after the bus policy let the call through:
 *  - root, the user the daemon runs as, and members of the admin group
 *    (roamvpn.conf AdminGroup=, the build's dbus_group by default): always;
 *  - anyone else, for RV_AUTH_CONTROL / RV_AUTH_RELOAD: polkit decides
 *    (CheckAuthorization on org.freedesktop.PolicyKit1 for the caller's bus name,
 *    actions net.roamvpn1.control and net.roamvpn1.reload,
 *    data/net.roamvpn1.policy); when polkit is not running or does not answer,
 *    refused: the root/AdminGroup rule as it was before polkit;
 *  - RV_AUTH_ADMIN: nobody else.
 * Every step is an asynchronous D-Bus call (the caller's uid from the bus, then
 * polkit): the main loop never waits for the bus or for a person typing a
 * password into a polkit agent.
 */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>
#include <stdbool.h>

enum rv_dbus_auth {
	RV_AUTH_ADMIN = 0,	/* root, the daemon's user, the admin group; no polkit */
	RV_AUTH_ANYONE,		/* whoever the bus policy lets through (reading) */
	RV_AUTH_CONTROL,	/* polkit net.roamvpn1.control */
	RV_AUTH_RELOAD,		/* polkit net.roamvpn1.reload */
};

/* The polkit action id for auth, NULL for ADMIN and ANYONE. */
const char *rv_dbus_auth_action(enum rv_dbus_auth auth);

/* Called once with the verdict: allowed, or not with error (RV_ERROR_PERMISSION,
 * a sentence for the caller). */
typedef void (*rv_dbus_auth_done)(bool allowed, const GError *error, void *user_data);

/* Decide whether the sender of msg may make a call that needs auth. details
 * (a{ss}, may be NULL; consumed if floating) go to polkit, where rules can
 * read them (action.lookup("tunnel")). done runs later from the main loop, or
 * before this returns when no bus round trip is needed. */
void rv_dbus_auth_check(DBusConnection *conn, DBusMessage *msg, enum rv_dbus_auth auth,
			GVariant *details, rv_dbus_auth_done done, void *user_data);

/* The admin group of the fallback rule; NULL restores the build's default. */
void rv_dbus_auth_set_admin_group(const char *group);
/* Forget in-flight checks: their done callbacks will not run (service exit). */
void rv_dbus_auth_cancel_all(void);
