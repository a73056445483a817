/* debounce.c - a restartable delay in front of the policy (see debounce.h). */
#include "config.h"

#include "debounce.h"

struct rv_debounce {
	guint delay_ms;
	guint source;
	void (*fire)(void *);
	void *user_data;
};

struct rv_debounce *rv_debounce_new(guint delay_ms, void (*fire)(void *), void *user_data)
{
	struct rv_debounce *d = g_new0(struct rv_debounce, 1);

	d->delay_ms = delay_ms;
	d->fire = fire;
	d->user_data = user_data;
	return d;
}

void rv_debounce_free(struct rv_debounce *d)
{
	if (!d)
		return;
	g_clear_handle_id(&d->source, g_source_remove);
	g_free(d);
}

void rv_debounce_set_delay(struct rv_debounce *d, guint delay_ms)
{
	d->delay_ms = delay_ms;
}

static gboolean expired(gpointer data)
{
	struct rv_debounce *d = data;

	d->source = 0;
	d->fire(d->user_data);
	return G_SOURCE_REMOVE;
}

void rv_debounce_kick(struct rv_debounce *d)
{
	g_clear_handle_id(&d->source, g_source_remove);
	d->source = g_timeout_add(d->delay_ms, expired, d);
}

void rv_debounce_cancel(struct rv_debounce *d)
{
	g_clear_handle_id(&d->source, g_source_remove);
}

bool rv_debounce_pending(const struct rv_debounce *d)
{
	return d->source != 0;
}
