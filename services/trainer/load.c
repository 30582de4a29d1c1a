/* load: see load.h. */
#include "load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "opts.h"
#include "rs_err.h"

typedef struct load_ctx {
	const char *path;
	tr_ids *users, *items;
	int32_t *u, *i;
	double *ts;
	int64_t n, cap;
	int has_ts;
	int events;       /* the CSV has a type and/or value column */
	int default_type; /* events without a type column */
	tr_event_log *logp;
} load_ctx;

static int
dataset_row(void *vctx, char **vals, long line, tr_error *err)
{
	load_ctx *c = vctx;
	double t;

	if (c->events) { /* vals[3] type, vals[4] value (either may be missing) */
		int type = c->default_type;
		double v = NAN;
		if (vals[2] == NULL)
			t = (double) c->logp->n;
		else if (tr_parse_double(vals[2], &t) != 0)
			return tr_error_set(err, RS_EINVAL,
			                    "%s:%ld: timestamp '%s' is not a number", c->path, line,
			                    vals[2]);
		if (vals[3] != NULL && (type = rs_event_type_parse(vals[3])) < 0)
			return tr_error_set(err, RS_EINVAL,
			                    "%s:%ld: unknown event type '%s' (view, click, "
			                    "add_to_cart, purchase, rating, not_interested or 1-6)",
			                    c->path, line, vals[3]);
		if (vals[4] != NULL && vals[4][0] != '\0' && tr_parse_double(vals[4], &v) != 0)
			return tr_error_set(err, RS_EINVAL, "%s:%ld: value '%s' is not a number",
			                    c->path, line, vals[4]);
		tr_event_log_push(c->logp, vals[0], strlen(vals[0]), vals[1], strlen(vals[1]), type,
		                  v, t);
		return 0;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1 << 16;
		c->u = tr_xrealloc(c->u, (size_t) c->cap * sizeof(int32_t));
		c->i = tr_xrealloc(c->i, (size_t) c->cap * sizeof(int32_t));
		c->ts = tr_xrealloc(c->ts, (size_t) c->cap * sizeof(double));
	}
	if (vals[2] != NULL) {
		if (tr_parse_double(vals[2], &t) != 0)
			return tr_error_set(err, RS_EINVAL,
			                    "%s:%ld: timestamp '%s' is not a number", c->path, line,
			                    vals[2]);
		c->has_ts = 1;
	} else {
		t = (double) c->n;
	}
	c->u[c->n] = tr_ids_intern(c->users, vals[0], strlen(vals[0]));
	c->i[c->n] = tr_ids_intern(c->items, vals[1], strlen(vals[1]));
	c->ts[c->n] = t;
	c->n++;
	return 0;
}

/* csv_has_column: 1 if the header line of path names col (as tr_csv_each matches) */
static int
csv_has_column(const char *path, const char *col)
{
	FILE *f = fopen(path, "r");
	char line[4096], *tok, *save = NULL;
	int found = 0;

	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL)
		for (tok = strtok_r(line, ",\r\n", &save); tok != NULL && !found;
		     tok = strtok_r(NULL, ",\r\n", &save)) {
			while (*tok == ' ' || *tok == '"')
				tok++;
			size_t n = strlen(tok);
			while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '"'))
				tok[--n] = '\0';
			found = strcasecmp(tok, col) == 0;
		}
	fclose(f);
	return found;
}

static int
dataset_load_events(const char *path, const tr_weights *w, tr_dataset *ds, tr_error *err)
{
	static const char *const cols[] = {"user", "item", "timestamp", "type", "value"};
	load_ctx c;
	tr_weights def;
	tr_event_log log;
	int rv;

	memset(&c, 0, sizeof(c));
	c.path = path;
	c.events = 1;
	c.default_type = RS__EVENT_TYPE__EVENT_RATING;
	c.logp = &log;
	tr_event_log_init(&log);
	if (w == NULL) {
		rs_event_weights_defaults(&def);
		w = &def;
	}
	rv = tr_csv_each(path, cols, 5, 2, dataset_row, &c, err);
	if (rv == 0 && log.n == 0)
		rv = tr_error_set(err, RS_EINVAL, "%s: no interactions (empty training set)", path);
	if (rv == 0 && (rv = tr_events_build(&log, w, ds, err)) != 0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		rv = tr_error_set(err, rv, "%s: %.700s", path, why);
	}
	tr_event_log_fini(&log);
	return rv;
}

int
tr_event_log_read_csv(const char *path, tr_event_log *log, int *has_ts, tr_error *err)
{
	static const char *const cols[] = {"user", "item", "timestamp", "type", "value"};
	load_ctx c;

	memset(&c, 0, sizeof(c));
	c.path = path;
	c.events = 1;
	c.default_type = csv_has_column(path, "value") ? RS__EVENT_TYPE__EVENT_RATING : 0;
	c.logp = log;
	*has_ts = csv_has_column(path, "timestamp");
	return tr_csv_each(path, cols, 5, 2, dataset_row, &c, err);
}

int
tr_dataset_load(const char *path, tr_dataset *ds, tr_error *err)
{
	return tr_dataset_load_w(path, NULL, ds, err);
}

int
tr_dataset_load_w(const char *path, const tr_weights *w, tr_dataset *ds, tr_error *err)
{
	static const char *const cols[] = {"user", "item", "timestamp"};
	load_ctx c;
	tr_ids *users, *items;
	int rv;

	memset(ds, 0, sizeof(*ds));
	if (csv_has_column(path, "type") || csv_has_column(path, "value"))
		return dataset_load_events(path, w, ds, err);
	users = tr_xmalloc(sizeof(*users));
	items = tr_xmalloc(sizeof(*items));
	memset(&c, 0, sizeof(c));
	tr_ids_init(users);
	tr_ids_init(items);
	c.path = path;
	c.users = users;
	c.items = items;
	rv = tr_csv_each(path, cols, 3, 2, dataset_row, &c, err);
	if (rv == 0 && c.n == 0)
		rv = tr_error_set(err, RS_EINVAL, "%s: no interactions (empty training set)", path);
	if (rv == 0) {
		tr_dataset_build(ds, users, items, tr_ids_count(users), tr_ids_count(items), c.n,
		                 c.u, c.i, c.ts);
		ds->has_ts = c.has_ts;
	} else {
		tr_ids_fini(users);
		tr_ids_fini(items);
		free(users);
		free(items);
	}
	free(c.u);
	free(c.i);
	free(c.ts);
	return rv;
}
