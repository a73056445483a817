/* str-list.h - string lists (GPtrArray of char *) compared as values.
 *
 * The link view compares a link's addresses, the tunnel files compare a builtin
 * tunnel's addresses: the same question, answered once here.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Same length and the same strings in the same order. Neither may be NULL. */
bool rv_str_array_equal(const GPtrArray *a, const GPtrArray *b);
