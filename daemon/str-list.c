/* str-list.c - string lists compared as values (see str-list.h). */
#include "config.h"

#include "str-list.h"

bool rv_str_array_equal(const GPtrArray *a, const GPtrArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++)
		if (!g_str_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
			return false;
	return true;
}
