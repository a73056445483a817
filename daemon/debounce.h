/* debounce.h - one delay before the policy is asked again.
 *
 * A link that flaps, or a Wi-Fi join that brings a burst of link, address, route
 * and neighbour changes, must lead to one evaluation, after the network has been
 * quiet for the delay. Every kick restarts the delay; flush fires at once. The
 * manager owns the one instance in the daemon (docs/architecture.md).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct rv_debounce;

struct rv_debounce *rv_debounce_new(guint delay_ms, void (*fire)(void *), void *user_data);
void rv_debounce_free(struct rv_debounce *d);
void rv_debounce_set_delay(struct rv_debounce *d, guint delay_ms);
/* (Re)start the delay. */
void rv_debounce_kick(struct rv_debounce *d);
/* Forget a pending delay without firing. */
void rv_debounce_cancel(struct rv_debounce *d);
bool rv_debounce_pending(const struct rv_debounce *d);
