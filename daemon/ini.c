/* ini.c - line-numbered INI reader (see ini.h for why not GKeyFile) and the one
 * function that applies key tables to it: unknown, repeated, required and secret
 * keys are handled here and nowhere else. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"

static void add_error_v(GPtrArray *errors, const char *path, int line, const char *fmt,
			va_list ap)
{
	g_autofree char *msg = NULL;

	if (!errors)
		return;
	/* The message formats are in po/ (keywords rv_ini_error:4, rv_ini_bad_value:2,
	 * rv_ini_value_error:2): translate them here, the call sites stay plain. */
	msg = g_strdup_vprintf(_(fmt), ap);
	if (line > 0)
		g_ptr_array_add(errors, g_strdup_printf("%s:%d: %s", path, line, msg));
	else
		g_ptr_array_add(errors, g_strdup_printf("%s: %s", path, msg));
}

void rv_ini_error(GPtrArray *errors, const char *path, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_error_v(errors, path, line, fmt, ap);
	va_end(ap);
}

bool rv_ini_key_is_word(const char *key)
{
	if (!key[0])
		return false;
	for (const char *c = key; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

void rv_ini_unknown_key(GPtrArray *errors, const char *path, const struct rv_ini_entry *e,
			const char *section, const char *known)
{
	if (!rv_ini_key_is_word(e->key))
		rv_ini_error(errors, path, e->line,
			     "line %d is not KEY=VALUE in [%s] (not shown, it may hold a secret)",
			     e->line, section);
	else if (known)
		rv_ini_error(errors, path, e->line, "unknown key %s= in [%s] (known: %s)", e->key,
			     section, known);
	else
		rv_ini_error(errors, path, e->line, "unknown key %s= in [%s]", e->key, section);
}

static void entry_free(gpointer p)
{
	struct rv_ini_entry *e = p;

	g_free(e->key);
	g_free(e->value);
	g_free(e);
}

static void section_free(gpointer p)
{
	struct rv_ini_section *s = p;

	g_free(s->name);
	g_ptr_array_unref(s->entries);
	g_free(s);
}

void rv_ini_free(struct rv_ini *ini)
{
	if (!ini)
		return;
	g_free(ini->path);
	g_ptr_array_unref(ini->sections);
	g_free(ini);
}

struct rv_ini *rv_ini_parse(const char *path, const char *text, unsigned flags,
			    GPtrArray *errors)
{
	g_autoptr(rv_ini) ini = g_new0(struct rv_ini, 1);
	g_auto(GStrv) lines = NULL;
	struct rv_ini_section *current = NULL;
	bool ok = true, in_bad_section = false;

	ini->path = g_strdup(path);
	ini->sections = g_ptr_array_new_with_free_func(section_free);

	if (!g_utf8_validate(text, -1, NULL)) {
		/* SSIDs that are not UTF-8 are written as \xNN escapes, so the file
		 * itself must be text; find the first bad line for the message. */
		const char *end;
		int line = 1;

		g_utf8_validate(text, -1, &end);
		for (const char *p = text; p < end; p++)
			line += *p == '\n';
		rv_ini_error(errors, path, line, "not valid UTF-8 (write raw bytes as \\xNN)");
		return NULL;
	}

	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		int lineno = i + 1;
		char *line = lines[i];
		char *eq;

		if (flags & RV_INI_INLINE_COMMENTS) {
			char *hash = strchr(line, '#');

			if (hash)
				*hash = '\0';
		}
		g_strstrip(line);
		if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
			continue;

		if (line[0] == '[') {
			size_t len = strlen(line);

			/* Exactly one [ and one ]: "[Tunnel]]" or "[Tunnel] x]" must not
			 * become a section named "Tunnel]" that one reader takes for
			 * [Tunnel] and another does not. The line is not echoed. */
			if (len < 3 || line[len - 1] != ']' || strpbrk(line + 1, "[]") != line + len - 1) {
				rv_ini_error(errors, path, lineno,
					     "malformed section header (a line starting with '[' must be [Name])");
				ok = false;
				current = NULL;
				in_bad_section = true;	/* its lines are not "outside any section" */
				continue;
			}
			current = g_new0(struct rv_ini_section, 1);
			current->name = g_strndup(line + 1, len - 2);
			g_strstrip(current->name);
			current->line = lineno;
			current->entries = g_ptr_array_new_with_free_func(entry_free);
			g_ptr_array_add(ini->sections, current);
			in_bad_section = false;
			continue;
		}

		eq = strchr(line, '=');
		if (!eq) {
			/* Never echo the line: "PrivateKey yAnz..." or "Password hunter2"
			 * with the '=' forgotten is exactly what lands here. */
			rv_ini_error(errors, path, lineno,
				     "expected 'Key=Value' or '[Section]': line %d is not KEY=VALUE "
				     "(not shown, it may hold a secret)", lineno);
			ok = false;
			continue;
		}
		if (!current && in_bad_section)
			continue;
		if (!current) {
			rv_ini_error(errors, path, lineno, "assignment outside of any [Section]");
			ok = false;
			continue;
		}
		*eq = '\0';
		struct rv_ini_entry *e = g_new0(struct rv_ini_entry, 1);

		e->key = g_strstrip(g_strdup(line));
		e->value = g_strstrip(g_strdup(eq + 1));
		e->line = lineno;
		if (e->key[0] == '\0') {
			rv_ini_error(errors, path, lineno, "empty key");
			entry_free(e);
			ok = false;
			continue;
		}
		g_ptr_array_add(current->entries, e);
	}

	if (!ok)
		return NULL;
	return g_steal_pointer(&ini);
}

int rv_ini_read_file(const char *path, char **text, gsize *len, GPtrArray *errors)
{
	g_autofree char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	*text = NULL;
	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		if (err != ENOENT)
			rv_ini_error(errors, path, 0, "%s", g_strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		rv_ini_error(errors, path, 0, "%s", g_strerror(err));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		rv_ini_error(errors, path, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > RV_INI_MAX_FILE_SIZE) {
		err = EFBIG;
		rv_ini_error(errors, path, 0, "too large (%lld bytes; the limit is %d)",
			     (long long)st.st_size, RV_INI_MAX_FILE_SIZE);
		goto out;
	}
	/* One byte more than the limit, to notice a file that grew since fstat. */
	buf = g_malloc((gsize)st.st_size + 2);
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			rv_ini_error(errors, path, 0, "%s", g_strerror(err));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size) {
		err = EAGAIN;
		rv_ini_error(errors, path, 0, "changed while being read; try again");
		goto out;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		/* The rest of the file would be silently cut off: say where. */
		const char *nul = memchr(buf, '\0', got);
		int line = 1;

		for (const char *p = buf; p < nul; p++)
			line += *p == '\n';
		err = EINVAL;
		rv_ini_error(errors, path, line, "NUL byte in a text file");
		explicit_bzero(buf, got);
		goto out;
	}
	*text = g_steal_pointer(&buf);
	if (len)
		*len = got;
out:
	close(fd);
	return -err;
}

struct rv_ini *rv_ini_load(const char *path, unsigned flags, GPtrArray *errors)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	struct rv_ini *ini;
	int r = rv_ini_read_file(path, &text, &len, errors);

	if (r == -ENOENT)
		rv_ini_error(errors, path, 0, "%s", g_strerror(ENOENT));
	if (r < 0)
		return NULL;
	ini = rv_ini_parse(path, text, flags, errors);
	explicit_bzero(text, len);	/* it may hold secrets */
	return ini;
}

struct rv_ini_section *rv_ini_find_section(const struct rv_ini *ini, const char *name)
{
	for (guint i = 0; i < ini->sections->len; i++) {
		struct rv_ini_section *s = g_ptr_array_index(ini->sections, i);

		if (g_str_equal(s->name, name))
			return s;
	}
	return NULL;
}

struct rv_ini_entry *rv_ini_find_entry(const struct rv_ini_section *section,
				       const char *key)
{
	for (guint i = section->entries->len; i > 0; i--) {
		struct rv_ini_entry *e = g_ptr_array_index(section->entries, i - 1);

		if (g_str_equal(e->key, key))
			return e;
	}
	return NULL;
}

int rv_ini_check_secret_file(const char *path, GPtrArray *errors)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int err = errno;

		rv_ini_error(errors, path, 0, "%s", g_strerror(err));
		return -err;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rv_ini_error(errors, path, 0, "holds secrets but is not owned by root");
		return -EPERM;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rv_ini_error(errors, path, 0,
			     "holds secrets but is accessible by group or others (mode %04o); chmod 600 it",
			     (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* --- key tables ------------------------------------------------------------------ */

static bool name_eq(const char *a, const char *b, unsigned flags)
{
	return flags & RV_INI_APPLY_CASE_INSENSITIVE ? g_ascii_strcasecmp(a, b) == 0 : g_str_equal(a, b);
}

bool rv_ini_table_has_section(const struct rv_ini_key *table, const char *section,
			      unsigned flags)
{
	for (const struct rv_ini_key *k = table; k->key; k++)
		if (name_eq(k->section, section, flags))
			return true;
	return false;
}

static const struct rv_ini_key *table_find(const struct rv_ini_key *table, const char *section,
					   const char *key, unsigned flags)
{
	for (const struct rv_ini_key *k = table; k->key; k++)
		if (name_eq(k->section, section, flags) && name_eq(k->key, key, flags))
			return k;
	return NULL;
}

bool rv_ini_section_has_secret(const struct rv_ini_section *section,
			       const struct rv_ini_key *table, unsigned flags)
{
	for (guint i = 0; i < section->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(section->entries, i);
		const struct rv_ini_key *k = table_find(table, section->name, e->key, flags);

		if (k && (k->flags & RV_INI_SECRET))
			return true;
	}
	return false;
}

void rv_ini_bad_value(const struct rv_ini_value *v, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *what = NULL;

	va_start(ap, fmt);
	what = g_strdup_vprintf(_(fmt), ap);
	va_end(ap);
	if (v->key && (v->key->flags & RV_INI_SECRET))
		rv_ini_error(v->errors, v->path, v->entry->line, "%s= %s", v->entry->key, what);
	else
		rv_ini_error(v->errors, v->path, v->entry->line, "%s=: '%s' %s", v->entry->key,
			     v->value, what);
}

void rv_ini_value_error(const struct rv_ini_value *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_error_v(v->errors, v->path, v->entry->line, fmt, ap);
	va_end(ap);
}

static char *known_keys(const struct rv_ini_key *table, const char *section, unsigned flags)
{
	GString *out = g_string_new(NULL);

	for (const struct rv_ini_key *k = table; k->key; k++) {
		if (!name_eq(k->section, section, flags))
			continue;
		if (out->len)
			g_string_append(out, ", ");
		g_string_append(out, k->key);
	}
	return g_string_free(out, FALSE);
}

/* One entry against its row: split a list, call the parser per item. */
static bool apply_entry(struct rv_ini_value *v)
{
	const struct rv_ini_key *k = v->key;
	void *field = (char *)v->target + k->offset;
	g_auto(GStrv) items = NULL;
	bool ok = true, any = false;

	if (!(k->flags & RV_INI_LIST)) {
		v->value = v->entry->value;
		return k->parse(v, field);
	}
	items = g_strsplit_set(v->entry->value, k->flags & RV_INI_LIST_COMMA ? "," : " \t", -1);
	for (int i = 0; items[i]; i++) {
		g_strstrip(items[i]);
		if (!items[i][0])
			continue;
		any = true;
		v->value = items[i];
		ok = k->parse(v, field) && ok;
	}
	v->value = v->entry->value;
	if (!any && !(k->flags & RV_INI_LIST_EMPTY_OK)) {
		rv_ini_error(v->errors, v->path, v->entry->line, "%s= is empty", v->entry->key);
		ok = false;
	}
	return ok;
}

bool rv_ini_apply_section(const char *path, const struct rv_ini_section *section,
			  const struct rv_ini_key *table, void *target, unsigned flags,
			  GPtrArray *errors)
{
	/* Row -> line of its first assignment, for RV_INI_ONCE and RV_INI_REQUIRED. */
	g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	bool ok = true;

	for (guint i = 0; i < section->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(section->entries, i);
		const struct rv_ini_key *k = table_find(table, section->name, e->key, flags);
		struct rv_ini_value v = {
			.path = path, .section = section, .entry = e, .key = k,
			.value = e->value, .target = target, .errors = errors,
		};
		gpointer first;

		if (!k) {
			g_autofree char *known = known_keys(table, section->name, flags);

			rv_ini_unknown_key(errors, path, e, section->name, known);
			ok = false;
			continue;
		}
		first = g_hash_table_lookup(seen, k);
		if (first && (k->flags & RV_INI_ONCE)) {
			rv_ini_error(errors, path, e->line, "%s= repeated (first at line %d)%s%s",
				     e->key, GPOINTER_TO_INT(first), k->repeat_hint ? "; " : "",
				     k->repeat_hint ? k->repeat_hint : "");
			ok = false;
			continue;
		}
		if (!first)
			g_hash_table_insert(seen, (gpointer)k, GINT_TO_POINTER(e->line));
		ok = apply_entry(&v) && ok;
	}
	for (const struct rv_ini_key *k = table; k->key; k++) {
		if ((k->flags & RV_INI_REQUIRED) && name_eq(k->section, section->name, flags) &&
		    !g_hash_table_contains(seen, k)) {
			rv_ini_error(errors, path, section->line, "[%s] has no %s=", section->name, k->key);
			ok = false;
		}
	}
	return ok;
}

enum section_use { SECTION_APPLY, SECTION_SKIP, SECTION_BAD };

/* Is the section known, and not a repeat? Reports why not. */
static enum section_use section_use(const struct rv_ini *ini, guint index,
				    const struct rv_ini_key *table, unsigned flags,
				    const char *sections_hint, GPtrArray *errors)
{
	const struct rv_ini_section *s = g_ptr_array_index(ini->sections, index);

	if (!rv_ini_table_has_section(table, s->name, flags)) {
		if (flags & RV_INI_APPLY_OTHER_SECTIONS)
			return SECTION_SKIP;
		if (sections_hint)
			rv_ini_error(errors, ini->path, s->line, "unknown section [%s] (%s)", s->name,
				     sections_hint);
		else
			rv_ini_error(errors, ini->path, s->line, "unknown section [%s]", s->name);
		return SECTION_BAD;
	}
	if (flags & RV_INI_APPLY_REPEATED_SECTIONS)
		return SECTION_APPLY;
	for (guint j = 0; j < index; j++) {
		const struct rv_ini_section *earlier = g_ptr_array_index(ini->sections, j);

		if (name_eq(earlier->name, s->name, flags)) {
			rv_ini_error(errors, ini->path, s->line, "[%s] repeated (first at line %d)",
				     s->name, earlier->line);
			return SECTION_BAD;
		}
	}
	return SECTION_APPLY;
}

bool rv_ini_apply(const struct rv_ini *ini, const struct rv_ini_key *table, void *target,
		  unsigned flags, const char *sections_hint, GPtrArray *errors)
{
	g_autofree enum section_use *use = g_new0(enum section_use, ini->sections->len + 1);
	bool first = flags & RV_INI_APPLY_SECTIONS_FIRST;
	bool ok = true;

	for (guint i = 0; first && i < ini->sections->len; i++)
		use[i] = section_use(ini, i, table, flags, sections_hint, errors);
	for (guint i = 0; i < ini->sections->len; i++) {
		if (!first)
			use[i] = section_use(ini, i, table, flags, sections_hint, errors);
		if (use[i] == SECTION_BAD)
			ok = false;
		else if (use[i] == SECTION_APPLY)
			ok = rv_ini_apply_section(ini->path, g_ptr_array_index(ini->sections, i), table,
						  target, flags, errors) && ok;
	}
	return ok;
}

/* --- ready-made parsers ---------------------------------------------------------- */

bool rv_ini_bool_from_string(const char *text, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (g_ascii_strcasecmp(text, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool rv_ini_parse_string(const struct rv_ini_value *v, void *field)
{
	char **s = field;

	g_free(*s);
	*s = g_strdup(v->value);
	return true;
}

bool rv_ini_parse_bool(const struct rv_ini_value *v, void *field)
{
	if (rv_ini_bool_from_string(v->value, field))
		return true;
	rv_ini_bad_value(v, "is not yes or no");
	return false;
}

bool rv_ini_parse_uint(const struct rv_ini_value *v, void *field)
{
	const struct rv_ini_uint_range *r = v->key->data;
	guint64 n;

	g_assert(r && r->max <= G_MAXUINT);
	if (!g_ascii_string_to_unsigned(v->value, 10, r->min, r->max, &n, NULL)) {
		/* PRIu64, not G_GUINT64_FORMAT: xgettext knows it (the message is translated). */
		rv_ini_bad_value(v, "is not %s from %" PRIu64 " to %" PRIu64,
				 r->what ? r->what : "a number", (uint64_t)r->min, (uint64_t)r->max);
		return false;
	}
	*(guint *)field = (guint)n;
	return true;
}

bool rv_ini_parse_choice(const struct rv_ini_value *v, void *field)
{
	const char *const *choices = v->key->data;
	g_autoptr(GString) list = g_string_new(NULL);

	for (size_t i = 0; choices[i]; i++) {
		if (g_str_equal(v->value, choices[i]))
			return rv_ini_parse_string(v, field);
		if (i > 0)
			g_string_append(list, choices[i + 1] ? ", " : " or ");
		g_string_append(list, choices[i]);
	}
	rv_ini_bad_value(v, "is not %s", list->str);
	return false;
}

bool rv_ini_parse_strv(const struct rv_ini_value *v, void *field)
{
	char ***strv = field;
	guint n = *strv ? g_strv_length(*strv) : 0;

	*strv = g_renew(char *, *strv, n + 2);
	(*strv)[n] = g_strdup(v->value);
	(*strv)[n + 1] = NULL;
	return true;
}
