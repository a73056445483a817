/* sorted.h - a hash table's values in a stable order.
 *
 * Owns: turning a GHashTable (whose iteration order is arbitrary) into an array
 * sorted by the caller's comparison. Every list the daemon shows or applies (the
 * tunnels on D-Bus, the kill switch's ruleset) and the applet's menu is built this
 * way, so that the same state always gives the same output.
 */
#ifndef RV_SORTED_H
#define RV_SORTED_H

#include <glib.h>

/* The values of table (NULL: none) sorted by cmp, which gets pointers to the
 * values as g_ptr_array_sort() gives them. The array does not own the values. */
GPtrArray *rv_hash_values_sorted(GHashTable *table, GCompareFunc cmp);

#endif
