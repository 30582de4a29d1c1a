#include "dio.h"
#include "rs_err.h"

#include <stdlib.h>
#include <string.h>

int
dio_csv_open(dio_csv *c, const char *path, char delim)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->delim = delim;
	c->f = fopen(path, "r");
	return c->f != NULL ? 0 : RS_EIO;
}

void
dio_csv_close(dio_csv *c)
{
	if (c->f != NULL)
		fclose(c->f);
	free(c->line);
	free(c->buf);
	free(c->fields);
	memset(c, 0, sizeof(*c));
}

static int
csv_push(dio_csv *c, size_t off)
{
	if (c->nfields == c->capfields) {
		size_t cap = c->capfields ? c->capfields * 2 : 32;
		char **f = realloc(c->fields, cap * sizeof(*f));
		if (f == NULL)
			return RS_ENOMEM;
		c->fields = f;
		c->capfields = cap;
	}
	c->fields[c->nfields++] = (char *) (uintptr_t) off; /* offsets until the buffer is final */
	return 0;
}

int
dio_csv_next(dio_csv *c)
{
	for (;;) {
		ssize_t n = getline(&c->line, &c->linecap, c->f);
		if (n < 0)
			return 0;
		c->lineno++;
		while (n > 0 && (c->line[n - 1] == '\n' || c->line[n - 1] == '\r'))
			c->line[--n] = '\0';
		size_t blank = 0;
		while (blank < (size_t) n && (c->line[blank] == ' ' || c->line[blank] == '\t'))
			blank++;
		if (blank == (size_t) n)
			continue;
		/* Fields may span lines inside quotes: keep reading until quotes balance. */
		size_t cap = (size_t) n * 2 + 2;
		c->nfields = 0;
		if (cap > c->bufcap) {
			char *b = realloc(c->buf, cap);
			if (b == NULL)
				return RS_ENOMEM;
			c->buf = b;
			c->bufcap = cap;
		}
		size_t o = 0;
		const char *p = c->line;
		if (csv_push(c, 0) != 0)
			return RS_ENOMEM;
		if (c->delim == ' ')
			while (*p == ' ' || *p == '\t')
				p++;
		while (*p) {
			if (*p == '"' && o == (size_t) (uintptr_t) c->fields[c->nfields - 1]) {
				p++;
				for (;;) {
					if (*p == '\0') {
						/* continuation line */
						char *more = NULL;
						size_t mcap = 0;
						ssize_t m = getline(&more, &mcap, c->f);
						if (m < 0) {
							free(more);
							return RS_EINVAL;
						}
						c->lineno++;
						if (o + (size_t) m * 2 + 2 > c->bufcap) {
							size_t nc = (o + (size_t) m) * 2 + 2;
							char *b = realloc(c->buf, nc);
							if (b == NULL) {
								free(more);
								return RS_ENOMEM;
							}
							c->buf = b;
							c->bufcap = nc;
						}
						/* swap the line buffer for the continuation */
						free(c->line);
						c->line = more;
						c->linecap = mcap;
						c->buf[o++] = '\n';
						p = c->line;
						while (m > 0 &&
						       (more[m - 1] == '\n' || more[m - 1] == '\r'))
							more[--m] = '\0';
						continue;
					}
					if (*p == '"' && p[1] == '"') {
						c->buf[o++] = '"';
						p += 2;
					} else if (*p == '"') {
						p++;
						break;
					} else {
						c->buf[o++] = *p++;
					}
				}
				continue;
			}
			int sep = c->delim == ' ' ? (*p == ' ' || *p == '\t') : *p == c->delim;
			if (sep) {
				if (c->delim == ' ')
					while (p[1] == ' ' || p[1] == '\t')
						p++;
				c->buf[o++] = '\0';
				p++;
				if (*p == '\0' && c->delim == ' ')
					break;
				if (csv_push(c, o) != 0)
					return RS_ENOMEM;
				continue;
			}
			c->buf[o++] = *p++;
		}
		c->buf[o] = '\0';
		for (size_t i = 0; i < c->nfields; i++)
			c->fields[i] = c->buf + (uintptr_t) c->fields[i];
		c->records++;
		return 1;
	}
}
