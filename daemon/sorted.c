/* sorted.c - a hash table's values in a stable order (see sorted.h). */
#include "config.h"

#include "sorted.h"

GPtrArray *rv_hash_values_sorted(GHashTable *table, GCompareFunc cmp)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	if (!table)
		return list;
	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, cmp);
	return list;
}
