/* rule-pattern.c - the pattern language of a rule's match keys, compiled and
 * matched (see rule-pattern.h); rules.c owns the rule files, the keys and the
 * reasons a rule did not match.
 *
 * Patterns are compiled into a small byte program (literal byte, ?, *, [class]) and
 * matched against raw bytes, because an SSID may hold NUL and non-UTF-8 bytes that
 * fnmatch(3) cannot see. Escaped bytes (\xNN, \\, \") and quoted text are always
 * literal, so "\x2a" or "*" in quotes match a real asterisk.
 */
#include "config.h"

#include <string.h>

#include "link.h"
#include "rule-pattern.h"

enum glob_op {
	GLOB_BYTE,
	GLOB_ANY,
	GLOB_STAR,
	GLOB_CLASS,
};

struct glob_item {
	enum glob_op op;
	uint8_t byte;
	bool class_negated;
	uint8_t class_set[32];	/* bit per byte value */
};

void rv_pattern_free(void *p)
{
	struct rv_pattern *pat = p;

	g_free(pat->text);
	g_array_unref(pat->items);
	g_free(pat);
}

/* --- compiling and matching one pattern ---------------------------------------- */

static void class_add(struct glob_item *item, uint8_t lo, uint8_t hi)
{
	for (unsigned int c = lo; c <= hi; c++)
		item->class_set[c / 8] |= (uint8_t)(1u << (c % 8));
}

static bool item_matches(const struct glob_item *item, uint8_t c)
{
	switch (item->op) {
	case GLOB_BYTE:
		return item->byte == c;
	case GLOB_ANY:
		return true;
	case GLOB_CLASS:
		return !!(item->class_set[c / 8] & (1u << (c % 8))) != item->class_negated;
	case GLOB_STAR:
		break;
	}
	return false;
}

/* Iterative glob with backtracking to the last '*': linear in practice and never
 * recursive, so a hostile pattern cannot blow the stack. */
static bool glob_match(const GArray *items, const uint8_t *s, size_t len)
{
	const struct glob_item *p = (const struct glob_item *)(const void *)items->data;
	size_t np = items->len, pi = 0, si = 0;
	size_t star_pi = SIZE_MAX, star_si = 0;

	while (si < len) {
		if (pi < np && p[pi].op == GLOB_STAR) {
			star_pi = pi++;
			star_si = si;
			continue;
		}
		if (pi < np && item_matches(&p[pi], s[si])) {
			pi++;
			si++;
			continue;
		}
		if (star_pi == SIZE_MAX)
			return false;
		pi = star_pi + 1;
		si = ++star_si;
	}
	while (pi < np && p[pi].op == GLOB_STAR)
		pi++;
	return pi == np;
}

bool rv_pattern_has_wildcard(const struct rv_pattern *pat)
{
	for (guint i = 0; i < pat->items->len; i++)
		if (g_array_index(pat->items, struct glob_item, i).op != GLOB_BYTE)
			return true;
	return false;
}

/* Fewest bytes a value needs to match the pattern. */
size_t rv_pattern_min_len(const struct rv_pattern *pat)
{
	size_t n = 0;

	for (guint i = 0; i < pat->items->len; i++)
		n += g_array_index(pat->items, struct glob_item, i).op != GLOB_STAR;
	return n;
}

/* One character of pattern text at *p: an escape or a raw byte. */
static bool read_char(const char **p, uint8_t *out, char **error)
{
	const char *s = *p;

	if (s[0] != '\\') {
		*out = (uint8_t)s[0];
		*p = s + 1;
		return true;
	}
	if (s[1] == '\\' || s[1] == '"') {
		*out = (uint8_t)s[1];
		*p = s + 2;
		return true;
	}
	if (s[1] == 'x' && g_ascii_isxdigit(s[2]) && g_ascii_isxdigit(s[3])) {
		*out = (uint8_t)(g_ascii_xdigit_value(s[2]) << 4 | g_ascii_xdigit_value(s[3]));
		*p = s + 4;
		return true;
	}
	*error = g_strdup("bad escape (use \\xNN, \\\\ or \\\")");
	return false;
}

/* [...] at *p (just after the '['), POSIX style: '!' or '^' negates, a ']' right
 * after the opening is a member, a-z is a byte range. */
static bool read_class(const char **p, struct glob_item *item, char **error)
{
	const char *s = *p;
	bool first = true;

	item->op = GLOB_CLASS;
	if (*s == '!' || *s == '^') {
		item->class_negated = true;
		s++;
	}
	for (;;) {
		uint8_t lo, hi;

		if (*s == '\0') {
			*error = g_strdup("unterminated [ in pattern");
			return false;
		}
		if (*s == ']' && !first)
			break;
		first = false;
		if (!read_char(&s, &lo, error))
			return false;
		hi = lo;
		if (s[0] == '-' && s[1] != ']' && s[1] != '\0') {
			s++;
			if (!read_char(&s, &hi, error))
				return false;
			if (hi < lo) {
				*error = g_strdup_printf("bad range in [...]: \\x%02x-\\x%02x is backwards", lo, hi);
				return false;
			}
		}
		class_add(item, lo, hi);
	}
	*p = s + 1;
	return true;
}

/* Split a value into patterns: space-separated, "quotes" keep spaces and make glob
 * characters literal, a leading unquoted '!' negates. */
GPtrArray *rv_patterns_parse(const char *value, char **error)
{
	g_autoptr(GPtrArray) patterns = g_ptr_array_new_with_free_func(rv_pattern_free);
	const char *p = value;

	for (;;) {
		struct rv_pattern *pat;
		const char *start;
		bool in_quotes = false, started = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;

		pat = g_new0(struct rv_pattern, 1);
		pat->items = g_array_new(FALSE, TRUE, sizeof(struct glob_item));
		g_ptr_array_add(patterns, pat);
		if (*p == '!') {
			pat->negated = true;
			p++;
		}
		start = p;
		while (*p && (in_quotes || (*p != ' ' && *p != '\t'))) {
			struct glob_item item = { 0 };

			if (*p == '"') {
				in_quotes = !in_quotes;
				started = true;
				p++;
				continue;
			}
			started = true;
			if (!in_quotes && *p == '*') {
				item.op = GLOB_STAR;
				p++;
			} else if (!in_quotes && *p == '?') {
				item.op = GLOB_ANY;
				p++;
			} else if (!in_quotes && *p == '[') {
				p++;
				if (!read_class(&p, &item, error))
					return NULL;
			} else {
				item.op = GLOB_BYTE;
				if (!read_char(&p, &item.byte, error))
					return NULL;
			}
			g_array_append_val(pat->items, item);
		}
		if (in_quotes) {
			*error = g_strdup("unterminated quote");
			return NULL;
		}
		if (!started) {
			*error = g_strdup("'!' without a pattern");
			return NULL;
		}
		pat->text = g_strndup(start, (gsize)(p - start));
	}
	if (patterns->len == 0) {
		*error = g_strdup("needs at least one pattern");
		return NULL;
	}
	return g_steal_pointer(&patterns);
}

/* MAC patterns compare against rv_mac_to_string(): lower case, colons. A plain
 * address is normalised ("0:1:2:a:b:c" works); a glob may only hold hex digits
 * and colons besides its wildcards. */
bool rv_pattern_check_mac(struct rv_pattern *pat, char **error)
{
	uint8_t mac[6];

	if (rv_pattern_has_wildcard(pat)) {
		for (guint i = 0; i < pat->items->len; i++) {
			struct glob_item *item = &g_array_index(pat->items, struct glob_item, i);

			if (item->op == GLOB_BYTE && !g_ascii_isxdigit(item->byte) && item->byte != ':') {
				*error = g_strdup_printf("'%s' is not a MAC address pattern", pat->text);
				return false;
			}
			if (item->op == GLOB_BYTE)
				item->byte = (uint8_t)g_ascii_tolower(item->byte);
		}
		return true;
	}

	g_autofree char *literal = g_malloc0(pat->items->len + 1);

	for (guint i = 0; i < pat->items->len; i++)
		literal[i] = (char)g_array_index(pat->items, struct glob_item, i).byte;
	if (strlen(literal) != pat->items->len || !rv_mac_parse(literal, mac)) {
		*error = g_strdup_printf("'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", pat->text);
		return false;
	}
	g_autofree char *canonical = rv_mac_to_string(mac);

	g_array_set_size(pat->items, 0);
	for (const char *c = canonical; *c; c++) {
		struct glob_item item = { .op = GLOB_BYTE, .byte = (uint8_t)*c };

		g_array_append_val(pat->items, item);
	}
	return true;
}

/* True when some value matches a positive pattern (or there is none) and no value
 * matches a negated one; *excluded_by names the negated pattern that hit. */
bool rv_patterns_match(const GPtrArray *patterns, const struct rv_pattern_value *values,
		       size_t n_values, const struct rv_pattern **excluded_by)
{
	bool have_positive = false, positive_hit = false;

	*excluded_by = NULL;
	for (guint i = 0; i < patterns->len; i++) {
		const struct rv_pattern *pat = g_ptr_array_index(patterns, i);
		bool hit = false;

		for (size_t v = 0; v < n_values && !hit; v++)
			hit = glob_match(pat->items, values[v].data, values[v].len);
		if (pat->negated && hit) {
			*excluded_by = pat;
			return false;
		}
		if (!pat->negated) {
			have_positive = true;
			positive_hit = positive_hit || hit;
		}
	}
	return !have_positive || positive_hit;
}

char *rv_patterns_positive(const GPtrArray *patterns)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < patterns->len; i++) {
		const struct rv_pattern *pat = g_ptr_array_index(patterns, i);

		if (pat->negated)
			continue;
		if (out->len)
			g_string_append_c(out, ' ');
		g_string_append(out, pat->text);
	}
	return g_string_free(out, FALSE);
}
