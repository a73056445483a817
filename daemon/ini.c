/* ini.c - line-numbered INI reader (see ini.h for why not GKeyFile). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"

void rv_ini_error(GPtrArray *errors, const char *path, int line, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	if (!errors)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		g_ptr_array_add(errors, g_strdup_printf("%s:%d: %s", path, line, msg));
	else
		g_ptr_array_add(errors, g_strdup_printf("%s: %s", path, msg));
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
	bool ok = true;

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

			if (line[len - 1] != ']' || len < 3) {
				rv_ini_error(errors, path, lineno, "malformed section header '%s'", line);
				ok = false;
				continue;
			}
			current = g_new0(struct rv_ini_section, 1);
			current->name = g_strndup(line + 1, len - 2);
			g_strstrip(current->name);
			current->line = lineno;
			current->entries = g_ptr_array_new_with_free_func(entry_free);
			g_ptr_array_add(ini->sections, current);
			continue;
		}

		eq = strchr(line, '=');
		if (!eq) {
			rv_ini_error(errors, path, lineno, "expected 'Key=Value' or '[Section]', got '%s'", line);
			ok = false;
			continue;
		}
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

struct rv_ini *rv_ini_load(const char *path, unsigned flags, GPtrArray *errors)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		rv_ini_error(errors, path, 0, "%s", error->message);
		return NULL;
	}
	return rv_ini_parse(path, text, flags, errors);
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
