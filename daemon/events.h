/* events.h - in-process change notifications.
 *
 * The core (links, supervisor, manager) emits an event whenever an object it owns
 * appears, changes or goes away; consumers (the manager, wifi.c, the D-Bus service)
 * subscribe. Emission is synchronous: subscribers must not re-enter the emitter;
 * one that has work to do in reply (evaluate, query nl80211) notes it and does it
 * from a timer or an idle callback.
 */
#pragma once

#include <glib.h>

enum rv_event_kind {
	RV_EVENT_LINK_ADDED,
	RV_EVENT_LINK_CHANGED,
	RV_EVENT_LINK_REMOVED,
	/* The policy's decision for a link changed (manager.h rv_manager_link_decision). */
	RV_EVENT_DECISION_CHANGED,
	RV_EVENT_TUNNEL_ADDED,
	RV_EVENT_TUNNEL_CHANGED,
	RV_EVENT_TUNNEL_REMOVED,
	RV_EVENT_MANAGER_CHANGED,
};

/* object is a struct rv_link *, struct rv_tunnel * or NULL (manager). */
typedef void (*rv_event_fn)(enum rv_event_kind kind, const void *object,
			    void *user_data);

guint rv_events_subscribe(rv_event_fn fn, void *user_data);
void rv_events_unsubscribe(guint id);
void rv_events_emit(enum rv_event_kind kind, const void *object);
const char *rv_event_kind_name(enum rv_event_kind kind);
