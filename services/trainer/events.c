/* events: see events.h. */
#include "events.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "rs_err.h"

int
tr_weights_parse(const char *spec, tr_weights *w, tr_error *err)
{
	char msg[256];
	int rv = rs_event_weights_parse(spec, w, msg, sizeof(msg));
	return rv == 0 ? 0 : tr_error_set(err, rv, "%s", msg);
}

void
tr_event_log_init(tr_event_log *log)
{
	memset(log, 0, sizeof(*log));
	log->users = tr_xmalloc(sizeof(*log->users));
	log->items = tr_xmalloc(sizeof(*log->items));
	tr_ids_init(log->users);
	tr_ids_init(log->items);
}

void
tr_event_log_push(tr_event_log *log, const char *user, size_t ulen, const char *item, size_t ilen,
                  int type, double value, double ts)
{
	if (log->n == log->cap) {
		log->cap = log->cap ? log->cap * 2 : 1 << 16;
		log->u = tr_xrealloc(log->u, (size_t) log->cap * sizeof(int32_t));
		log->i = tr_xrealloc(log->i, (size_t) log->cap * sizeof(int32_t));
		log->type = tr_xrealloc(log->type, (size_t) log->cap);
		log->value = tr_xrealloc(log->value, (size_t) log->cap * sizeof(double));
		log->ts = tr_xrealloc(log->ts, (size_t) log->cap * sizeof(double));
	}
	log->u[log->n] = tr_ids_intern(log->users, user, ulen);
	log->i[log->n] = tr_ids_intern(log->items, item, ilen);
	log->type[log->n] = (int8_t) type;
	log->value[log->n] = value;
	log->ts[log->n] = ts;
	log->n++;
}

void
tr_event_log_fini(tr_event_log *log)
{
	if (log->users != NULL) {
		tr_ids_fini(log->users);
		free(log->users);
	}
	if (log->items != NULL) {
		tr_ids_fini(log->items);
		free(log->items);
	}
	free(log->u);
	free(log->i);
	free(log->type);
	free(log->value);
	free(log->ts);
	memset(log, 0, sizeof(*log));
}

/* order of events: user, item, time, then position in the log (glibc qsort_r) */
static int
ev_cmp(const void *a, const void *b, void *ctx)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	const tr_event_log *l = ctx;

	if (l->u[x] != l->u[y])
		return l->u[x] < l->u[y] ? -1 : 1;
	if (l->i[x] != l->i[y])
		return l->i[x] < l->i[y] ? -1 : 1;
	if (l->ts[x] != l->ts[y])
		return l->ts[x] < l->ts[y] ? -1 : 1;
	return (x > y) - (x < y);
}

int
tr_events_build(tr_event_log *log, const tr_weights *w, tr_dataset *ds, tr_error *err)
{
	int64_t *ord, a, b, np = 0, npos = 0;
	int32_t *pu, *pi;
	double *pts;
	float *pw;

	memset(ds, 0, sizeof(*ds));
	ord = tr_xmalloc((size_t) (log->n > 0 ? log->n : 1) * sizeof(int64_t));
	for (a = 0; a < log->n; a++)
		ord[a] = a;
	qsort_r(ord, (size_t) log->n, sizeof(int64_t), ev_cmp, log);
	pu = tr_xmalloc((size_t) (log->n > 0 ? log->n : 1) * sizeof(int32_t));
	pi = tr_xmalloc((size_t) (log->n > 0 ? log->n : 1) * sizeof(int32_t));
	pts = tr_xmalloc((size_t) (log->n > 0 ? log->n : 1) * sizeof(double));
	pw = tr_xmalloc((size_t) (log->n > 0 ? log->n : 1) * sizeof(float));
	for (a = 0; a < log->n; a = b) {
		int64_t x = ord[a];
		double pos = 0, neg = 0, t_neg = -INFINITY, t_first = log->ts[x];
		int negative = 0;

		for (b = a;
		     b < log->n && log->u[ord[b]] == log->u[x] && log->i[ord[b]] == log->i[x];
		     b++) {
			int64_t y = ord[b];
			int override;
			double amt = rs_event_amount(w, log->type[y], log->value[y], &override);
			if (amt < 0) {
				neg -= amt;
				negative = 1;
				t_neg = log->ts[y];
			} else {
				pos += amt;
				if (override && amt > 0)
					negative = 0; /* a later purchase / good rating wins */
			}
		}
		if (negative && neg > 0) {
			pu[np] = log->u[x];
			pi[np] = log->i[x];
			pts[np] = t_neg;
			pw[np++] = (float) -neg;
		} else if (pos > 0) {
			pu[np] = log->u[x];
			pi[np] = log->i[x];
			pts[np] = t_first;
			pw[np++] = (float) pos;
			npos++;
		}
	}
	free(ord);
	if (npos == 0) {
		free(pu);
		free(pi);
		free(pts);
		free(pw);
		return tr_error_set(err, RS_EINVAL,
		                    "no interactions (%lld events, none with a positive weight)",
		                    (long long) log->n);
	}
	tr_dataset_build_signed(ds, log->users, log->items, tr_ids_count(log->users),
	                        tr_ids_count(log->items), np, pu, pi, pts, pw);
	ds->has_ts = 1;
	ds->rows_read = (long) log->n;
	log->users = NULL; /* now the dataset's */
	log->items = NULL;
	free(pu);
	free(pi);
	free(pts);
	free(pw);
	return 0;
}
