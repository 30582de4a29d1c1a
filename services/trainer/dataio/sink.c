#include "dio.h"
#include "rs_err.h"
#include "rs_pg.h"
#include "rs_strmap.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SINK_ITEM_CHUNK  50000
#define SINK_USER_CHUNK  50000
#define SINK_EVENT_CHUNK 200000

typedef struct sink_buf {
	char *b;
	size_t len, cap;
	size_t rows;
} sink_buf;

struct dio_sink {
	PGconn *pg;
	rs_strmap ids; /* the event ids of the current chunk (exact repeats inside one chunk are
	                  dropped in C, so the staging table holds each id once) */
	FILE *f_items, *f_users, *f_events;
	sink_buf items, users, events;
	int64_t ev_min, ev_max;
	dio_stats st;
	char err[300];
	int failed;
	int slow;         /* an id was already stored: use the on-conflict path from now on */
	dio_sink_fns fns; /* callbacks (dio_sink_open_fn), else zero */
};

static int sink_fail(dio_sink *s, int rv, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
sink_fail(dio_sink *s, int rv, const char *fmt, ...)
{
	va_list ap;
	if (!s->failed) {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
		s->failed = rv;
	}
	return rv;
}

static int
buf_room(sink_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 20;
	while (cap < b->len + n)
		cap *= 2;
	char *nb = realloc(b->b, cap);
	if (nb == NULL)
		return RS_ENOMEM;
	b->b = nb;
	b->cap = cap;
	return 0;
}

static int buf_printf(sink_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
buf_printf(sink_buf *b, const char *fmt, ...)
{
	va_list ap;
	if (buf_room(b, 128) != 0)
		return RS_ENOMEM;
	va_start(ap, fmt);
	int n = vsnprintf(b->b + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RS_EINVAL;
	if ((size_t) n >= b->cap - b->len) {
		if (buf_room(b, (size_t) n + 1) != 0)
			return RS_ENOMEM;
		va_start(ap, fmt);
		vsnprintf(b->b + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t) n;
	return 0;
}

/* COPY text field: \N for NULL, backslash escapes otherwise; then the separator. */
static int
buf_copy_str(sink_buf *b, const char *str, char sep)
{
	size_t n = str != NULL ? strlen(str) : 0;
	if (buf_room(b, n * 2 + 4) != 0)
		return RS_ENOMEM;
	if (str == NULL) {
		memcpy(b->b + b->len, "\\N", 2);
		b->len += 2;
	} else {
		for (const char *p = str; *p; p++) {
			char c = *p;
			if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
				b->b[b->len++] = '\\';
				c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
			}
			b->b[b->len++] = c;
		}
	}
	b->b[b->len++] = sep;
	return 0;
}

/* CSV field (RFC 4180 quoting when needed). */
static void
csv_field(FILE *f, const char *str, int last)
{
	if (str == NULL)
		str = "";
	if (strpbrk(str, ",\"\n\r") != NULL) {
		fputc('"', f);
		for (const char *p = str; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(str, f);
	}
	fputc(last ? '\n' : ',', f);
}

static int
sink_exec(dio_sink *s, const char *sql, ExecStatusType want)
{
	PGresult *r = PQexec(s->pg, sql);
	int ok = rs_pg_result(s->pg, r, want) == 0;
	if (!ok)
		sink_fail(s, RS_EDB, "postgresql: %s",
		          r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(s->pg));
	PQclear(r);
	return ok ? 0 : RS_EDB;
}

static int
sink_copy(dio_sink *s, const char *sql, sink_buf *b)
{
	int rv = sink_exec(s, sql, PGRES_COPY_IN);
	if (rv != 0)
		return rv;
	size_t off = 0;
	while (rv == 0 && off < b->len) {
		size_t n = b->len - off > (1u << 20) ? (1u << 20) : b->len - off;
		if (PQputCopyData(s->pg, b->b + off, (int) n) != 1)
			rv = sink_fail(s, RS_EDB, "copy: %s", PQerrorMessage(s->pg));
		off += n;
	}
	if (PQputCopyEnd(s->pg, rv == 0 ? NULL : "aborted") != 1 && rv == 0)
		rv = sink_fail(s, RS_EDB, "copy: %s", PQerrorMessage(s->pg));
	PGresult *r;
	while ((r = PQgetResult(s->pg)) != NULL) {
		if (rv == 0 && rs_pg_result(s->pg, r, PGRES_COMMAND_OK) != 0)
			rv = sink_fail(s, RS_EDB, "copy: %s", PQresultErrorMessage(r));
		PQclear(r);
	}
	return rv;
}

static int
sink_flush_items(dio_sink *s)
{
	int rv = 0;
	if (s->pg == NULL || s->items.rows == 0)
		goto out;
	if ((rv = sink_exec(s, "begin", PGRES_COMMAND_OK)) != 0 ||
	    (rv = sink_copy(s, "copy dio_items_stage from stdin", &s->items)) != 0 ||
	    (rv = sink_exec(s,
	                    "insert into items (item_id, external_id, title, category, brand, "
	                    "price, in_stock, attributes) select item_id, external_id, title, "
	                    "category, brand, price, in_stock, attributes from dio_items_stage "
	                    "on conflict do nothing",
	                    PGRES_COMMAND_OK)) != 0 ||
	    /* rows that ingest created as placeholders get their real catalog data */
	    (rv = sink_exec(s,
	                    "update items i set title = s.title, category = s.category, brand = "
	                    "s.brand, price = s.price, in_stock = s.in_stock, attributes = "
	                    "s.attributes from dio_items_stage s where i.item_id = s.item_id and "
	                    "i.attributes->>'placeholder' = 'true'",
	                    PGRES_COMMAND_OK)) != 0 ||
	    (rv = sink_exec(s, "commit", PGRES_COMMAND_OK)) != 0)
		PQclear(PQexec(s->pg, "rollback"));
out:
	s->items.len = s->items.rows = 0;
	return rv;
}

static int
sink_flush_users(dio_sink *s)
{
	int rv = 0;
	if (s->pg == NULL || s->users.rows == 0)
		goto out;
	if ((rv = sink_exec(s, "begin", PGRES_COMMAND_OK)) != 0 ||
	    (rv = sink_copy(s, "copy dio_users_stage from stdin", &s->users)) != 0 ||
	    (rv = sink_exec(s,
	                    "insert into users (user_id, external_id, display_name) select "
	                    "user_id, external_id, display_name from dio_users_stage on conflict "
	                    "do nothing",
	                    PGRES_COMMAND_OK)) != 0 ||
	    (rv = sink_exec(s, "commit", PGRES_COMMAND_OK)) != 0)
		PQclear(PQexec(s->pg, "rollback"));
out:
	s->users.len = s->users.rows = 0;
	return rv;
}

static int
sink_flush_events(dio_sink *s)
{
	int rv = 0;
	char sql[256];
	PGresult *r = NULL;
	if (s->pg == NULL || s->events.rows == 0)
		goto out;
	/* Users and catalog first, so their real rows win over the placeholders below. */
	if ((rv = sink_flush_items(s)) != 0 || (rv = sink_flush_users(s)) != 0)
		goto out;
	if ((rv = sink_exec(s, "begin", PGRES_COMMAND_OK)) != 0)
		goto out;
	/* Monthly partitions for the chunk's range (up to 10 years; older spans stay in default).
	 */
	if (s->ev_max - s->ev_min <= 3660LL * 86400 * 1000) {
		snprintf(sql, sizeof(sql),
		         "select rs_events_ensure_partitions(timestamptz 'epoch' + %" PRId64
		         " * interval '1 ms', timestamptz 'epoch' + %" PRId64 " * interval '1 ms')",
		         s->ev_min, s->ev_max);
		if ((rv = sink_exec(s, sql, PGRES_TUPLES_OK)) != 0)
			goto rollback;
	}
	if ((rv = sink_copy(s, "copy dio_events_stage from stdin", &s->events)) != 0 ||
	    (rv = sink_exec(s,
	                    "insert into users (user_id) select distinct user_id from "
	                    "dio_events_stage on conflict do nothing",
	                    PGRES_COMMAND_OK)) != 0 ||
	    (rv = sink_exec(s,
	                    "insert into items (item_id, attributes) select distinct item_id, "
	                    "'{\"placeholder\": true}'::jsonb from dio_events_stage on conflict do "
	                    "nothing",
	                    PGRES_COMMAND_OK)) != 0)
		goto rollback;
	/* Fast path: plain inserts (the staging table holds each id once); an id that is already
	 * stored raises a unique violation, and then the chunk (and the rest of the load) takes
	 * the on-conflict path. */
	if (!s->slow) {
		if ((rv = sink_exec(s, "savepoint fast", PGRES_COMMAND_OK)) != 0)
			goto rollback;
		r = PQexec(s->pg, "insert into event_ids (event_id) select event_id from "
		                  "dio_events_stage");
		if (rs_pg_result(s->pg, r, PGRES_COMMAND_OK) == 0) {
			PQclear(r);
			r = PQexec(s->pg,
			           "insert into events (event_id, user_id, item_id, type, value, "
			           "price, "
			           "ts) select event_id, user_id, item_id, type, value, price, "
			           "timestamptz 'epoch' + ts_ms * interval '1 millisecond' from "
			           "dio_events_stage");
		}
		if (rs_pg_result(s->pg, r, PGRES_COMMAND_OK) == 0) {
			uint64_t fresh = strtoull(PQcmdTuples(r), NULL, 10);
			if ((rv = sink_exec(s, "commit", PGRES_COMMAND_OK)) != 0)
				goto out;
			s->st.events_new += fresh;
			s->st.events_dup += s->events.rows - fresh;
			goto out;
		}
		const char *state = rs_pg_sqlstate(r);
		if (state == NULL || strcmp(state, "23505") != 0) {
			rv = sink_fail(s, RS_EDB, "insert events: %s",
			               r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(s->pg));
			goto rollback;
		}
		PQclear(r);
		r = NULL;
		s->slow = 1;
		if ((rv = sink_exec(s, "rollback to savepoint fast", PGRES_COMMAND_OK)) != 0)
			goto rollback;
	}
	r = PQexec(
	        s->pg,
	        "with ins as (insert into event_ids (event_id) select event_id from "
	        "dio_events_stage on conflict do nothing returning event_id), "
	        "ev as (insert into events (event_id, user_id, item_id, type, value, price, ts) "
	        "select s.event_id, s.user_id, s.item_id, s.type, s.value, s.price, "
	        "timestamptz 'epoch' + s.ts_ms * interval '1 millisecond' from dio_events_stage s "
	        "join ins using (event_id) returning 1) select count(*) from ev");
	if (rs_pg_result(s->pg, r, PGRES_TUPLES_OK) != 0) {
		rv = sink_fail(s, RS_EDB, "insert events: %s",
		               r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(s->pg));
		goto rollback;
	}
	uint64_t fresh = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	if ((rv = sink_exec(s, "commit", PGRES_COMMAND_OK)) != 0)
		goto out;
	s->st.events_new += fresh;
	s->st.events_dup += s->events.rows - fresh;
	goto out;
rollback:
	PQclear(PQexec(s->pg, "rollback"));
out:
	PQclear(r);
	s->events.len = s->events.rows = 0;
	rs_strmap_clear(&s->ids);
	s->ev_min = INT64_MAX;
	s->ev_max = INT64_MIN;
	return rv;
}

static FILE *
sink_csv_open(dio_sink *s, const char *dir, const char *name, const char *header)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		sink_fail(s, RS_EIO, "cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	fputs(header, f);
	return f;
}

int
dio_sink_open(dio_sink **out, const char *dsn, const char *outdir, int truncate, char *err,
              size_t errn)
{
	dio_sink *s = calloc(1, sizeof(*s));
	int rv = 0;
	if (s == NULL) {
		snprintf(err, errn, "out of memory");
		return RS_ENOMEM;
	}
	s->ev_min = INT64_MAX;
	s->ev_max = INT64_MIN;
	if (outdir != NULL) {
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "%s", outdir);
		for (char *p = tmp + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				mkdir(tmp, 0755);
				*p = '/';
			}
		mkdir(tmp, 0755);
		s->f_items =
		        sink_csv_open(s, outdir, "items.csv",
		                      "item_id,external_id,title,category,brand,price,in_stock\n");
		s->f_users =
		        sink_csv_open(s, outdir, "users.csv", "user_id,external_id,display_name\n");
		s->f_events = sink_csv_open(s, outdir, "events.csv",
		                            "event_id,user_id,item_id,type,value,price,ts_ms\n");
		if (s->failed) {
			rv = s->failed;
			goto fail;
		}
	}
	if (dsn != NULL) {
		s->pg = PQconnectdb(dsn);
		if (s->pg == NULL || PQstatus(s->pg) != CONNECTION_OK) {
			rv = sink_fail(s, RS_EUNAVAIL, "cannot connect to postgresql: %s",
			               s->pg != NULL ? PQerrorMessage(s->pg) : "out of memory");
			goto fail;
		}
		if ((rv = sink_exec(s, "set client_min_messages = warning", PGRES_COMMAND_OK)) !=
		            0 ||
		    (rv = sink_exec(
		             s,
		             "create temp table dio_items_stage (item_id bigint, external_id "
		             "text, title text, category text, brand text, price numeric(12,2), "
		             "in_stock boolean, attributes jsonb) on commit delete rows",
		             PGRES_COMMAND_OK)) != 0 ||
		    (rv = sink_exec(
		             s,
		             "create temp table dio_users_stage (user_id bigint, external_id "
		             "text, display_name text) on commit delete rows",
		             PGRES_COMMAND_OK)) != 0 ||
		    (rv = sink_exec(
		             s,
		             "create temp table dio_events_stage (event_id text, user_id bigint, "
		             "item_id bigint, type smallint, value double precision, price "
		             "numeric(12,2), ts_ms bigint) on commit delete rows",
		             PGRES_COMMAND_OK)) != 0)
			goto fail;
		if (truncate && (rv = sink_exec(s, "truncate events, event_ids, items, users",
		                                PGRES_COMMAND_OK)) != 0)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	snprintf(err, errn, "%s", s->err);
	dio_sink_close(s, NULL, NULL, 0);
	return rv;
}

int
dio_sink_open_fn(dio_sink **out, const dio_sink_fns *fns)
{
	dio_sink *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return RS_ENOMEM;
	s->fns = *fns;
	*out = s;
	return 0;
}

int
dio_sink_item(dio_sink *s, const dio_item *it)
{
	int rv = 0;
	char price[32] = "";
	s->st.items++;
	if (s->fns.item != NULL && (rv = s->fns.item(s->fns.ctx, it)) != 0)
		return sink_fail(s, rv, "%s", rs_strerror(rv));
	if (it->price >= 0)
		snprintf(price, sizeof(price), "%.2f", it->price);
	if (s->f_items != NULL) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRId64, it->id);
		csv_field(s->f_items, id, 0);
		csv_field(s->f_items, it->external_id, 0);
		csv_field(s->f_items, it->title, 0);
		csv_field(s->f_items, it->category, 0);
		csv_field(s->f_items, it->brand, 0);
		csv_field(s->f_items, price, 0);
		csv_field(s->f_items, it->in_stock ? "true" : "false", 1);
	}
	if (s->pg == NULL)
		return 0;
	sink_buf *b = &s->items;
	if (buf_printf(b, "%" PRId64 "\t", it->id) != 0 || buf_copy_str(b, it->external_id, '\t') ||
	    buf_copy_str(b, it->title ? it->title : "", '\t') ||
	    buf_copy_str(b, it->category ? it->category : "", '\t') ||
	    buf_copy_str(b, it->brand ? it->brand : "", '\t') ||
	    buf_copy_str(b, it->price >= 0 ? price : NULL, '\t') ||
	    buf_printf(b, "%s\t", it->in_stock ? "t" : "f") != 0 ||
	    buf_copy_str(b, it->attributes ? it->attributes : "{}", '\n'))
		return sink_fail(s, RS_ENOMEM, "out of memory");
	if (++b->rows >= SINK_ITEM_CHUNK)
		rv = sink_flush_items(s);
	return rv;
}

int
dio_sink_user(dio_sink *s, const dio_user *u)
{
	int rv = 0;
	s->st.users++;
	if (s->f_users != NULL) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRId64, u->id);
		csv_field(s->f_users, id, 0);
		csv_field(s->f_users, u->external_id, 0);
		csv_field(s->f_users, u->display_name, 1);
	}
	if (s->pg == NULL)
		return 0;
	sink_buf *b = &s->users;
	if (buf_printf(b, "%" PRId64 "\t", u->id) != 0 || buf_copy_str(b, u->external_id, '\t') ||
	    buf_copy_str(b, u->display_name, '\n'))
		return sink_fail(s, RS_ENOMEM, "out of memory");
	if (++b->rows >= SINK_USER_CHUNK)
		rv = sink_flush_users(s);
	return rv;
}

int
dio_sink_event(dio_sink *s, const dio_event *e)
{
	char value[40] = "", price[32] = "";
	s->st.events++;
	if (s->fns.event != NULL) {
		int rv = s->fns.event(s->fns.ctx, e);
		return rv != 0 ? sink_fail(s, rv, "%s", rs_strerror(rv)) : 0;
	}
	if (e->has_value)
		snprintf(value, sizeof(value), "%.17g", e->value);
	if (e->price > 0)
		snprintf(price, sizeof(price), "%.2f", e->price);
	if (s->f_events != NULL)
		fprintf(s->f_events, "%s,%" PRId64 ",%" PRId64 ",%d,%s,%s,%" PRId64 "\n",
		        e->event_id, e->user_id, e->item_id, e->type, value, price, e->ts_ms);
	if (s->pg == NULL)
		return 0;
	int added;
	if ((rs_strmap_count(&s->ids) == 0 && rs_strmap_reserve(&s->ids, SINK_EVENT_CHUNK) != 0) ||
	    rs_strmap_intern(&s->ids, e->event_id, strlen(e->event_id), &added) < 0)
		return sink_fail(s, RS_ENOMEM, "out of memory");
	if (!added) {
		s->st.events_dup++;
		return 0;
	}
	sink_buf *b = &s->events;
	if (buf_copy_str(b, e->event_id, '\t') ||
	    buf_printf(b, "%" PRId64 "\t%" PRId64 "\t%d\t%s\t%s\t%" PRId64 "\n", e->user_id,
	               e->item_id, e->type, e->has_value ? value : "\\N",
	               e->price > 0 ? price : "\\N", e->ts_ms) != 0)
		return sink_fail(s, RS_ENOMEM, "out of memory");
	if (e->ts_ms < s->ev_min)
		s->ev_min = e->ts_ms;
	if (e->ts_ms > s->ev_max)
		s->ev_max = e->ts_ms;
	if (++b->rows >= SINK_EVENT_CHUNK)
		return sink_flush_events(s);
	return 0;
}

int
dio_sink_close(dio_sink *s, dio_stats *st, char *err, size_t errn)
{
	int rv = s->failed;
	if (rv == 0 && s->pg != NULL) {
		if ((rv = sink_flush_items(s)) == 0 && (rv = sink_flush_users(s)) == 0)
			rv = sink_flush_events(s);
	}
	FILE *files[3] = {s->f_items, s->f_users, s->f_events};
	for (int i = 0; i < 3; i++)
		if (files[i] != NULL && fclose(files[i]) != 0 && rv == 0)
			rv = sink_fail(s, RS_EIO, "cannot write csv: %s", strerror(errno));
	if (rv != 0 && err != NULL)
		snprintf(err, errn, "%s", s->err[0] ? s->err : rs_strerror(rv));
	if (st != NULL)
		*st = s->st;
	if (s->pg != NULL)
		PQfinish(s->pg);
	free(s->items.b);
	free(s->users.b);
	free(s->events.b);
	rs_strmap_fini(&s->ids);
	free(s);
	return rv;
}

int
dio_parse_id(const char *str, int64_t *out)
{
	char *end;
	if (str == NULL || *str < '0' || *str > '9')
		return -1;
	errno = 0;
	long long v = strtoll(str, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}
