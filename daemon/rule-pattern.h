/* rule-pattern.h - the pattern language of a rule's match keys: globs over raw
 * bytes (literal byte, ?, *, [class]), "quoted" text and \xNN escapes always
 * literal, a leading ! negates (see docs/rules.md). rules.c reads rule files and
 * decides per key which values a link offers; this file compiles and matches.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_pattern {
	bool negated;
	char *text;		/* as written, without the leading '!' */
	GArray *items;		/* struct glob_item */
};

/* One value of a link to match: raw bytes (an SSID may hold NUL and non-UTF-8). */
struct rv_pattern_value {
	const uint8_t *data;
	size_t len;
};

/* A GPtrArray free function. */
void rv_pattern_free(void *p);
/* Splits a key's value into patterns (a GPtrArray of struct rv_pattern *), or NULL
 * with *error set ("unterminated quote", ...). */
GPtrArray *rv_patterns_parse(const char *value, char **error);
bool rv_pattern_has_wildcard(const struct rv_pattern *pat);
/* Fewest bytes a value needs to match the pattern. */
size_t rv_pattern_min_len(const struct rv_pattern *pat);
/* For BSSID=/Gateway=: normalises a plain MAC address, or checks a glob holds only
 * hex digits and colons besides its wildcards; false with *error set. */
bool rv_pattern_check_mac(struct rv_pattern *pat, char **error);
/* True when some value matches a positive pattern (or there is none) and no value
 * matches a negated one; *excluded_by names the negated pattern that hit. */
bool rv_patterns_match(const GPtrArray *patterns, const struct rv_pattern_value *values,
		       size_t n_values, const struct rv_pattern **excluded_by);
/* The positive patterns as written, space-separated (for "does not match ..."). */
char *rv_patterns_positive(const GPtrArray *patterns);
