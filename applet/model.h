/* model.h - what roamvpn-applet knows about roamvpnd, kept from D-Bus alone.
 *
 * net.roamvpn1 on the system bus (or a test bus): GetManagedObjects once through a
 * GDBusObjectManagerClient, then InterfacesAdded/Removed and PropertiesChanged;
 * the Manager's properties through a GDBusProxy. Both follow the bus name, so the
 * daemon may start, stop and restart while the applet runs: the model empties
 * when it goes and fills again when it comes back. Nothing is polled.
 */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>

/* The icon states, in order of precedence (the first that applies wins). */
enum rv_overall {
	RV_OVERALL_UNPROTECTED,	/* no tunnel up (or the daemon is not running) */
	RV_OVERALL_PROTECTED,	/* a tunnel is up */
	RV_OVERALL_CONNECTING,	/* a tunnel is starting or stopping */
	RV_OVERALL_FAILED,	/* a tunnel failed */
	RV_OVERALL_PORTAL,	/* a link waits for a captive portal login */
	RV_OVERALL_PAUSED,	/* automation paused */
};

struct rv_model_tunnel {
	char *path;
	char *name;
	char *state;		/* "down", "starting", "up", "stopping", "failed" */
	guint64 since;		/* realtime usec, 0: unknown */
	char *last_error;
	char *triggered_by;	/* link name, "manual" or "" */
};

struct rv_model_link {
	char *path;
	char *name;
	char *type;
	char *ssid;		/* escaped for display (\xNN), NULL: not Wi-Fi */
	char *rule;		/* the rule that decided, "" if none */
	char *decision;
	char *portal;		/* Portal: "", "probing", "portal", "online" ... */
	char *portal_url;	/* PortalURL: the login page, "" if unknown */
	char *kill_switch;	/* KillSwitch: "", "closed", "tunnel", "login-window" */
	bool active;
};

struct rv_model;

typedef void (*rv_model_changed_fn)(struct rv_model *model, void *user_data);
/* A tunnel changed state (old may be NULL for a new tunnel); for notifications.
 * Not called for what the first snapshot after (re)connection shows. */
typedef void (*rv_model_tunnel_fn)(struct rv_model *model, const struct rv_model_tunnel *t,
				   const char *old_state, void *user_data);
typedef void (*rv_model_link_fn)(struct rv_model *model, const struct rv_model_link *l,
				 const char *old_portal, void *user_data);

struct rv_model_callbacks {
	rv_model_changed_fn changed;
	rv_model_tunnel_fn tunnel_state;
	rv_model_link_fn link_portal;
	void *user_data;
};

/* bus: NULL for the system bus, or a D-Bus address (tests). */
struct rv_model *rv_model_new(const char *bus, const struct rv_model_callbacks *cb,
			      GError **error);
void rv_model_free(struct rv_model *model);

bool rv_model_daemon_running(const struct rv_model *model);
bool rv_model_paused(const struct rv_model *model);
/* Sorted by name. */
GPtrArray *rv_model_tunnels(const struct rv_model *model);	/* struct rv_model_tunnel * */
GPtrArray *rv_model_links(const struct rv_model *model);	/* struct rv_model_link * */
enum rv_overall rv_model_overall(const struct rv_model *model);
const char *rv_overall_name(enum rv_overall overall);	/* "protected" ... */

/* The whole model as text, one fact per line (tests read it). */
char *rv_model_dump(const struct rv_model *model);

/* Manager methods, asynchronously; done gets NULL or the error (may be NULL). */
typedef void (*rv_model_done_fn)(const GError *error, const char *text, void *user_data);
void rv_model_call(struct rv_model *model, const char *method, GVariant *args,
		   rv_model_done_fn done, void *user_data);
