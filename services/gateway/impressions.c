#include "impressions.h"
#include "render.h"
#include "util.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_pg.h"
#include "rs_time.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMP_COPY_ITEMS  10000 /* items per COPY at most (about 1,000 lists) */
#define IMP_RETRY_MS    1000  /* after a failed write or connect */
#define IMP_LINGER_MS   100   /* lists gather this long into one COPY (below) */
#define IMP_TEXT_MAX    128
#define IMP_SURFACE_MAX 64
#define IMP_TS_MAX_MS   4102444800000LL /* 2100-01-01, as events */

/* One list (an impressions row): its fields and item ids, in one allocation. */
typedef struct imp_batch {
	struct imp_batch *b_next;
	uint64_t b_seq;
	int64_t b_user;
	int64_t b_ts_ms;
	int64_t b_experiment;                                           /* 0 = none */
	const char *b_rec_id, *b_model_version, *b_variant, *b_surface; /* NULL = none */
	int32_t b_first_pos;
	int b_degraded;
	size_t b_n;
	int64_t *b_item;
} imp_batch;

struct gw_impressions {
	char *im_dsn;
	size_t im_max;
	pthread_mutex_t im_mu;
	pthread_cond_t im_cv_work; /* batches queued (while idle), enough queued, flush or stop */
	pthread_cond_t im_cv_done; /* im_done_seq moved */
	imp_batch *im_head, *im_tail;
	size_t im_rows;       /* items queued or being written (the bound) */
	uint64_t im_enq_seq;  /* seq of the last batch queued */
	uint64_t im_done_seq; /* every batch up to this seq is written or dropped */
	int im_stop;
	int im_idle;    /* the writer waits for a first list: a producer signals */
	int im_flushes; /* gw_impressions_flush callers waiting: no lingering */
	pthread_t im_thread;
	int im_started;
	PGconn *im_pg; /* the writer thread's */
	char *im_buf;  /* COPY text */
	size_t im_len, im_cap;
	rs_metric *m_accepted, *m_overloaded, *m_written, *m_dropped, *m_write_ms;
	rs_metric *m_served, *m_served_dropped; /* served lists recorded / dropped (queue full) */
	rs_metric *m_queued;                    /* items queued or being written (gauge) */
};

/* ---- the writer ---- */

static int
imp_reserve(gw_impressions *im, size_t extra)
{
	if (im->im_len + extra <= im->im_cap)
		return 0;
	size_t cap = im->im_cap ? im->im_cap : 64 * 1024;
	while (cap < im->im_len + extra)
		cap *= 2;
	char *b = realloc(im->im_buf, cap);
	if (b == NULL)
		return RS_ENOMEM;
	im->im_buf = b;
	im->im_cap = cap;
	return 0;
}

/* A COPY text field: printable ASCII (validated) with backslashes doubled; \N for NULL. */
static void
imp_field(gw_impressions *im, const char *s, char sep)
{
	if (s == NULL) {
		memcpy(im->im_buf + im->im_len, "\\N", 2);
		im->im_len += 2;
	} else {
		for (; *s; s++) {
			if (*s == '\\')
				im->im_buf[im->im_len++] = '\\';
			im->im_buf[im->im_len++] = *s;
		}
	}
	im->im_buf[im->im_len++] = sep;
}

static int
imp_connect(gw_impressions *im)
{
	if (im->im_pg != NULL && PQstatus(im->im_pg) == CONNECTION_OK)
		return 0;
	if (im->im_pg != NULL)
		PQfinish(im->im_pg);
	im->im_pg = NULL;
	PGconn *c;
	if (rs_pg_connect(im->im_dsn, &c) != 0)
		return RS_EUNAVAIL;
	if (rs_pg_exec(c, "set statement_timeout = '10s'", 0, NULL, PGRES_COMMAND_OK,
	               "gw.impressions.timeout") != 0) {
		PQfinish(c);
		return RS_EUNAVAIL;
	}
	im->im_pg = c;
	return 0;
}

/* COPYs the batches of list into impressions in one statement. Returns 0 or an RS_E*. */
static int
imp_copy(gw_impressions *im, const imp_batch *list)
{
	char ts[80], nums[64];
	int rv;

	if ((rv = imp_connect(im)) != 0)
		return rv;
	im->im_len = 0;
	for (const imp_batch *b = list; b != NULL; b = b->b_next) {
		time_t secs = (time_t) (b->b_ts_ms / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		snprintf(ts, sizeof(ts), "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         (int) (b->b_ts_ms % 1000));
		/* 4 strings of at most 128 bytes, each doubled at worst, the items (at most 20
		 * digits and a comma each) and the numbers */
		if ((rv = imp_reserve(im, 4 * 2 * IMP_TEXT_MAX + b->b_n * 21 + 200)) != 0)
			return rv;
		imp_field(im, b->b_rec_id, '\t');
		im->im_len += (size_t) snprintf(im->im_buf + im->im_len, 24, "%lld\t{",
		                                (long long) b->b_user);
		for (size_t i = 0; i < b->b_n; i++)
			im->im_len += (size_t) snprintf(im->im_buf + im->im_len, 24, "%s%lld",
			                                i > 0 ? "," : "", (long long) b->b_item[i]);
		im->im_len += (size_t) snprintf(im->im_buf + im->im_len, 16, "}\t%d\t",
		                                (int) b->b_first_pos);
		imp_field(im, b->b_model_version, '\t');
		imp_field(im, b->b_variant, '\t');
		imp_field(im, b->b_surface, '\t');
		if (b->b_experiment > 0) {
			snprintf(nums, sizeof(nums), "%lld", (long long) b->b_experiment);
			imp_field(im, nums, '\t');
		} else {
			imp_field(im, NULL, '\t');
		}
		imp_field(im, b->b_degraded ? "t" : "f", '\t');
		imp_field(im, ts, '\n');
	}
	PGresult *res =
	        PQexec(im->im_pg, "copy impressions (rec_id, user_id, items, first_position, "
	                          "model_version, variant, surface, experiment_id, "
	                          "degraded, ts) from stdin");
	rv = rs_pg_check(im->im_pg, res, PGRES_COPY_IN, "gw.impressions.copy");
	PQclear(res);
	if (rv != 0)
		return rv;
	int ok = PQputCopyData(im->im_pg, im->im_buf, (int) im->im_len) == 1;
	if (PQputCopyEnd(im->im_pg, ok ? NULL : "aborted") != 1)
		ok = 0;
	while ((res = PQgetResult(im->im_pg)) != NULL) {
		if (rs_pg_check(im->im_pg, res, PGRES_COMMAND_OK, "gw.impressions.copy_end") != 0)
			ok = 0;
		PQclear(res);
	}
	if (!ok && PQstatus(im->im_pg) != CONNECTION_OK) {
		PQfinish(im->im_pg);
		im->im_pg = NULL;
		return RS_EUNAVAIL;
	}
	return ok ? 0 : RS_EDB;
}

static void
imp_free_list(imp_batch *b)
{
	while (b != NULL) {
		imp_batch *next = b->b_next;
		free(b);
		b = next;
	}
}

/* Takes up to IMP_COPY_ITEMS items of queued lists (at least one list). Under im_mu. */
static imp_batch *
imp_take(gw_impressions *im, size_t *rows, uint64_t *last_seq)
{
	imp_batch *list = im->im_head, *b = list, *last = NULL;
	*rows = 0;
	while (b != NULL && (*rows == 0 || *rows + b->b_n <= IMP_COPY_ITEMS)) {
		*rows += b->b_n;
		last = b;
		b = b->b_next;
	}
	if (last == NULL)
		return NULL;
	im->im_head = last->b_next;
	if (im->im_head == NULL)
		im->im_tail = NULL;
	last->b_next = NULL;
	*last_seq = last->b_seq;
	return list;
}

/* Marks list (rows items, up to last_seq) finished. Under im_mu. */
static void
imp_done(gw_impressions *im, size_t rows, uint64_t last_seq)
{
	im->im_rows -= rows;
	rs_metric_set(im->m_queued, (double) im->im_rows);
	im->im_done_seq = last_seq;
	pthread_cond_broadcast(&im->im_cv_done);
}

static void *
imp_main(void *arg)
{
	gw_impressions *im = arg;
	pthread_mutex_lock(&im->im_mu);
	for (;;) {
		im->im_idle = 1;
		while (im->im_head == NULL && !im->im_stop)
			pthread_cond_wait(&im->im_cv_work, &im->im_mu);
		im->im_idle = 0;
		if (im->im_head == NULL)
			break; /* stopping, nothing left */
		/* Let the lists of the next IMP_LINGER_MS gather into the same COPY: one statement
		 * and commit per list costs PostgreSQL more than the row (the producers do not wake
		 * the writer meanwhile, unless a COPY's worth is queued). */
		struct timespec linger = rs_deadline_in(CLOCK_MONOTONIC, IMP_LINGER_MS);
		while (!im->im_stop && im->im_flushes == 0 && im->im_rows < IMP_COPY_ITEMS &&
		       pthread_cond_timedwait(&im->im_cv_work, &im->im_mu, &linger) != ETIMEDOUT)
			;
		size_t rows = 0;
		uint64_t last_seq = 0;
		int stopping = im->im_stop;
		imp_batch *list = imp_take(im, &rows, &last_seq);
		pthread_mutex_unlock(&im->im_mu);
		double t0 = rs_mono_ms();
		int rv = imp_copy(im, list);
		if (rv == 0) {
			rs_metric_observe(im->m_write_ms, rs_mono_ms() - t0);
			rs_metric_add(im->m_written, rows);
		}
		pthread_mutex_lock(&im->im_mu);
		if (rv == 0 || stopping) {
			if (rv != 0) { /* closing and PostgreSQL cannot take them: say so, once */
				rs_metric_add(im->m_dropped, rows);
				rs_log_warn("gw.impressions_dropped", "rows=%zu err=\"%s\"", rows,
				            rs_strerror(rv));
			}
			imp_done(im, rows, last_seq);
			pthread_mutex_unlock(&im->im_mu);
			imp_free_list(list);
			pthread_mutex_lock(&im->im_mu);
			continue;
		}
		/* Keep them, in order, and retry after a pause (a stop ends the pause). */
		imp_batch *tail = list;
		while (tail->b_next != NULL)
			tail = tail->b_next;
		tail->b_next = im->im_head;
		im->im_head = list;
		if (im->im_tail == NULL)
			im->im_tail = tail;
		rs_log_warn("gw.impressions_write_failed", "rows=%zu queued=%zu err=\"%s\"", rows,
		            im->im_rows, rs_strerror(rv));
		struct timespec until = rs_deadline_in(CLOCK_MONOTONIC, IMP_RETRY_MS);
		while (!im->im_stop &&
		       pthread_cond_timedwait(&im->im_cv_work, &im->im_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&im->im_mu);
	return NULL;
}

int
gw_impressions_open(gw_impressions **out, const char *dsn, int max_rows)
{
	if (max_rows <= 0)
		max_rows = GW_IMPRESSIONS_QUEUE_DEFAULT; /* a config struct that does not say */
	if (dsn == NULL || max_rows < GW_IMPRESSIONS_MAX)
		return RS_EINVAL;
	gw_impressions *im = calloc(1, sizeof(*im));
	size_t n = strlen(dsn) + 32;
	if (im == NULL || (im->im_dsn = malloc(n)) == NULL) {
		free(im);
		return RS_ENOMEM;
	}
	/* A connect attempt must not hang on an unreachable host (keyword DSNs only). */
	if (strstr(dsn, "connect_timeout") == NULL && strstr(dsn, "://") == NULL)
		snprintf(im->im_dsn, n, "%s connect_timeout=2", dsn);
	else
		snprintf(im->im_dsn, n, "%s", dsn);
	im->im_max = (size_t) max_rows;
	pthread_mutex_init(&im->im_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&im->im_cv_work, &ca);
	pthread_cond_init(&im->im_cv_done, &ca);
	pthread_condattr_destroy(&ca);
	const char *h = "Impressions by outcome";
	im->m_accepted =
	        rs_metrics_counter("rs_gateway_impressions_total", h, "result=\"accepted\"");
	im->m_overloaded =
	        rs_metrics_counter("rs_gateway_impressions_total", h, "result=\"overloaded\"");
	im->m_written = rs_metrics_counter("rs_gateway_impressions_total", h, "result=\"written\"");
	im->m_dropped = rs_metrics_counter("rs_gateway_impressions_total", h, "result=\"dropped\"");
	im->m_write_ms = rs_metrics_histogram("rs_gateway_impressions_write_ms",
	                                      "One COPY of queued impressions (ms)", NULL);
	const char *hs = "Served recommendation lists whose impression was queued or dropped";
	im->m_queued = rs_metrics_gauge("rs_gateway_impressions_queued",
	                                "Impression items queued or being written", NULL);
	im->m_served =
	        rs_metrics_counter("rs_gateway_served_lists_total", hs, "result=\"recorded\"");
	im->m_served_dropped =
	        rs_metrics_counter("rs_gateway_served_lists_total", hs, "result=\"dropped\"");
	if (pthread_create(&im->im_thread, NULL, imp_main, im) != 0) {
		gw_impressions_close(im);
		return RS_ENOMEM;
	}
	im->im_started = 1;
	*out = im;
	return 0;
}

void
gw_impressions_close(gw_impressions *im)
{
	if (im == NULL)
		return;
	pthread_mutex_lock(&im->im_mu);
	im->im_stop = 1;
	pthread_cond_broadcast(&im->im_cv_work);
	pthread_mutex_unlock(&im->im_mu);
	if (im->im_started)
		pthread_join(im->im_thread, NULL); /* it writes (or drops) what is queued first */
	imp_free_list(im->im_head);
	if (im->im_pg != NULL)
		PQfinish(im->im_pg);
	pthread_cond_destroy(&im->im_cv_work);
	pthread_cond_destroy(&im->im_cv_done);
	pthread_mutex_destroy(&im->im_mu);
	free(im->im_buf);
	free(im->im_dsn);
	free(im);
}

int
gw_impressions_flush(gw_impressions *im, int timeout_ms)
{
	struct timespec until = rs_deadline_in(CLOCK_MONOTONIC, timeout_ms);
	int rv = 0;
	pthread_mutex_lock(&im->im_mu);
	uint64_t want = im->im_enq_seq;
	im->im_flushes++;
	pthread_cond_broadcast(&im->im_cv_work); /* no lingering while someone waits */
	while (im->im_done_seq < want && rv == 0)
		if (pthread_cond_timedwait(&im->im_cv_done, &im->im_mu, &until) == ETIMEDOUT)
			rv = RS_ETIMEDOUT;
	im->im_flushes--;
	pthread_mutex_unlock(&im->im_mu);
	return rv;
}

/* Queues b (n items). 0, or -1 when the queue is full or closing (b is not taken). */
static int
imp_enqueue(gw_impressions *im, imp_batch *b)
{
	pthread_mutex_lock(&im->im_mu);
	int full = im->im_rows + b->b_n > im->im_max || im->im_stop;
	if (!full) {
		b->b_next = NULL;
		b->b_seq = ++im->im_enq_seq;
		if (im->im_tail != NULL)
			im->im_tail->b_next = b;
		else
			im->im_head = b;
		im->im_tail = b;
		im->im_rows += b->b_n;
		rs_metric_set(im->m_queued, (double) im->im_rows);
		if (im->im_idle || im->im_rows >= IMP_COPY_ITEMS)
			pthread_cond_signal(&im->im_cv_work);
	}
	pthread_mutex_unlock(&im->im_mu);
	return full ? -1 : 0;
}

static size_t
imp_strsize(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static const char *
imp_strcopy(char **at, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	memcpy(*at, s, n);
	const char *r = *at;
	*at += n;
	return r;
}

/* One allocation for a list of n items and its strings; strings copied, items not. */
static imp_batch *
imp_batch_new(size_t n, const char *rec_id, const char *mv, const char *variant,
              const char *surface)
{
	size_t strs =
	        imp_strsize(rec_id) + imp_strsize(mv) + imp_strsize(variant) + imp_strsize(surface);
	imp_batch *b = malloc(sizeof(*b) + n * sizeof(int64_t) + strs);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->b_n = n;
	b->b_item = (int64_t *) (b + 1);
	char *at = (char *) (b->b_item + n);
	b->b_rec_id = imp_strcopy(&at, rec_id);
	b->b_model_version = imp_strcopy(&at, mv);
	b->b_variant = imp_strcopy(&at, variant);
	b->b_surface = imp_strcopy(&at, surface);
	b->b_first_pos = 1;
	return b;
}

/* A string the writer can COPY as it is: printable ASCII up to IMP_TEXT_MAX, else NULL (a
 * served list's strings come from the gateway and its downstreams, never from the client). */
static const char *
imp_printable(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return NULL;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++)
		if (*p < 0x20 || *p > 0x7e || n >= IMP_TEXT_MAX)
			return NULL;
	return s;
}

int
gw_impressions_record(gw_impressions *im, const gw_served_list *l)
{
	if (im == NULL || l == NULL || imp_printable(l->l_rec_id) == NULL || l->l_n == 0 ||
	    l->l_items == NULL)
		return RS_EINVAL;
	size_t n = l->l_n < GW_IMPRESSIONS_MAX ? l->l_n : GW_IMPRESSIONS_MAX;
	imp_batch *b = imp_batch_new(n, l->l_rec_id, imp_printable(l->l_model_version),
	                             imp_printable(l->l_variant), GW_IMPRESSIONS_SERVED_SURFACE);
	if (b == NULL) {
		rs_metric_add(im->m_served_dropped, 1);
		return RS_ENOMEM;
	}
	memcpy(b->b_item, l->l_items, n * sizeof(int64_t));
	b->b_user = l->l_user_id;
	b->b_experiment = l->l_experiment > 0 ? l->l_experiment : 0;
	b->b_degraded = l->l_degraded != 0;
	b->b_ts_ms = l->l_ts_ms > 0 ? l->l_ts_ms : rs_now_ms();
	if (imp_enqueue(im, b) != 0) {
		free(b);
		rs_metric_add(im->m_served_dropped, 1);
		return RS_EBUSY;
	}
	rs_metric_add(im->m_served, 1);
	return 0;
}

/* ---- POST /v1/impressions ---- */

/* NULL when s is 1..max printable ASCII characters (and, with token, only [a-z0-9_-]). */
static int
imp_text_ok(const char *s, size_t max, int token)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return 0;
		if (token && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		               *p == '-'))
			return 0;
	}
	return 1;
}

/* An optional string field: absent/null -> NULL (0); a valid string (0); else -1. */
static int
imp_opt_text(json_t *body, const char *key, size_t max, int token, const char **out)
{
	json_t *v = json_object_get(body, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !imp_text_ok(json_string_value(v), max, token))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* The optional client time of the list (like an event's ts): unix ms or ISO-8601; absent or
 * null = now. 0 (*out = 0 when absent) or -1. */
static int
imp_ts(json_t *v, int64_t *out)
{
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (!json_is_string(v) || gw_parse_iso8601(json_string_value(v), out) != 0)
		return -1;
	return *out > 0 && *out <= IMP_TS_MAX_MS ? 0 : -1;
}

void
gw_handle_impressions(gw_server *srv, gw_req *req)
{
	gw_impressions *im = srv->s_impressions;
	json_error_t jerr;
	const char *rec_id = NULL, *mv, *variant, *surface;
	int64_t ts_ms = 0;

	json_t *body = json_loadb(req->r_body, req->r_body_len, 0, &jerr);
	if (body == NULL) {
		gw_reply_error(req, 400, "bad_json", "malformed JSON: %s at line %d column %d",
		               jerr.text, jerr.line, jerr.column);
		return;
	}
	const char *bad = NULL;
	json_t *jrec = json_object_get(body, "rec_id"), *juser = json_object_get(body, "user_id");
	json_t *items = json_object_get(body, "items");
	json_t *jexp = json_object_get(body, "experiment");
	if (!json_is_object(body))
		bad = "the body must be a JSON object";
	else if (!json_is_string(jrec) || !imp_text_ok(json_string_value(jrec), IMP_TEXT_MAX, 0))
		bad = "rec_id must be a string of 1-128 printable ASCII characters";
	else if (!json_is_integer(juser) || json_integer_value(juser) <= 0)
		bad = "user_id must be a positive integer";
	else if (imp_opt_text(body, "model_version", IMP_TEXT_MAX, 0, &mv) != 0)
		bad = "model_version must be a string of 1-128 printable ASCII characters";
	else if (imp_opt_text(body, "variant", IMP_TEXT_MAX, 0, &variant) != 0)
		bad = "variant must be a string of 1-128 printable ASCII characters";
	else if (imp_opt_text(body, "surface", IMP_SURFACE_MAX, 1, &surface) != 0)
		bad = "surface must be 1-64 characters of a-z, 0-9, _ and - (e.g. similar)";
	else if (imp_ts(json_object_get(body, "ts"), &ts_ms) != 0)
		bad = "ts must be unix milliseconds between 1970 and 2100 or an ISO-8601 time with "
		      "a zone, e.g. 2026-11-28T10:00:00Z";
	else if (!json_is_array(items) || json_array_size(items) == 0 ||
	         json_array_size(items) > GW_IMPRESSIONS_MAX)
		bad = "items must be an array of 1-100 {\"item_id\", \"position\"}";
	if (bad != NULL) {
		json_decref(body);
		gw_reply_error(req, 400, "bad_request", "%s", bad);
		return;
	}
	rec_id = json_string_value(jrec);
	int64_t user = json_integer_value(juser);
	size_t n = json_array_size(items);
	json_int_t first = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(items, i);
		json_t *id = json_object_get(it, "item_id"), *pos = json_object_get(it, "position");
		if (i == 0 && json_is_integer(pos))
			first = json_integer_value(pos);
		const char *why =
		        !json_is_object(it) ? "must be an object"
		        : !json_is_integer(id) || json_integer_value(id) <= 0
		                ? ".item_id must be a positive integer"
		        : !json_is_integer(pos) || json_integer_value(pos) <= 0 ||
		                        json_integer_value(pos) > INT32_MAX - GW_IMPRESSIONS_MAX
		                ? ".position must be a positive integer"
		        : json_integer_value(pos) != first + (json_int_t) i
		                ? ".position must follow the one before (positions are "
		                  "consecutive in list order)"
		                : NULL;
		if (why != NULL) {
			json_decref(body);
			gw_reply_error(req, 400, "bad_request", "items[%zu]%s%s", i,
			               why[0] == '.' ? "" : " ", why);
			return;
		}
	}
	/* A recommendation list is recorded by the gateway as it serves it: never twice. */
	if ((jexp != NULL && !json_is_null(jexp)) ||
	    (surface != NULL && strcmp(surface, GW_IMPRESSIONS_SERVED_SURFACE) == 0)) {
		json_decref(body);
		gw_reply_error(req, 409, "recorded_by_gateway",
		               "the gateway records the recommendation lists it serves itself (an "
		               "impression with \"experiment\" or surface \"%s\" would count one "
		               "twice); post only other lists. Nothing was stored",
		               GW_IMPRESSIONS_SERVED_SURFACE);
		return;
	}
	/* A customer's session sends only that customer's impressions. */
	if (req->r_who.p_role == GW_ROLE_CUSTOMER && req->r_who.p_user_id != user) {
		json_decref(body);
		gw_reply_error(
		        req, 403, "forbidden",
		        "a customer may only send their own impressions (user %lld); nothing "
		        "was stored",
		        (long long) user);
		return;
	}
	imp_batch *b = imp_batch_new(n, rec_id, mv, variant, surface);
	if (b == NULL) {
		json_decref(body);
		gw_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	b->b_user = user;
	b->b_ts_ms = ts_ms > 0 ? ts_ms : rs_now_ms();
	b->b_first_pos = (int32_t) first;
	for (size_t i = 0; i < n; i++)
		b->b_item[i] =
		        json_integer_value(json_object_get(json_array_get(items, i), "item_id"));
	json_decref(body);

	if (imp_enqueue(im, b) != 0) {
		free(b);
		rs_metric_add(im->m_overloaded, n);
		gw_reply_error(req, 503, "overloaded",
		               "the impressions queue is full (%zu items); retry later",
		               im->im_max);
		return;
	}
	rs_metric_add(im->m_accepted, n);
	gw_reply_json(req, 202, json_pack("{s:I}", "accepted", (json_int_t) n));
}
