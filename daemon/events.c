/* events.c - synchronous in-process change notifications (see events.h). */
#include "config.h"

#include "events.h"

struct subscriber {
	guint id;
	rv_event_fn fn;
	void *user_data;
};

static GArray *subscribers;
static guint next_id = 1;

guint rv_events_subscribe(rv_event_fn fn, void *user_data)
{
	struct subscriber s = { next_id++, fn, user_data };

	if (!subscribers)
		subscribers = g_array_new(FALSE, FALSE, sizeof(struct subscriber));
	g_array_append_val(subscribers, s);
	return s.id;
}

void rv_events_unsubscribe(guint id)
{
	for (guint i = 0; subscribers && i < subscribers->len; i++) {
		if (g_array_index(subscribers, struct subscriber, i).id == id) {
			g_array_remove_index(subscribers, i);
			return;
		}
	}
}

void rv_events_emit(enum rv_event_kind kind, const void *object)
{
	for (guint i = 0; subscribers && i < subscribers->len; i++) {
		struct subscriber s = g_array_index(subscribers, struct subscriber, i);

		s.fn(kind, object, s.user_data);
	}
}

const char *rv_event_kind_name(enum rv_event_kind kind)
{
	switch (kind) {
	case RV_EVENT_LINK_ADDED: return "link-added";
	case RV_EVENT_LINK_CHANGED: return "link-changed";
	case RV_EVENT_LINK_REMOVED: return "link-removed";
	case RV_EVENT_DECISION_CHANGED: return "decision-changed";
	case RV_EVENT_TUNNEL_ADDED: return "tunnel-added";
	case RV_EVENT_TUNNEL_CHANGED: return "tunnel-changed";
	case RV_EVENT_TUNNEL_REMOVED: return "tunnel-removed";
	case RV_EVENT_MANAGER_CHANGED: return "manager-changed";
	}
	return "unknown";
}
