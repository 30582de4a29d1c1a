#include "writer.h"
#include "spool.h"
#include "rs_envelope.h"
#include "rs_err.h"
#include "rs_idmap.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_pg.h"
#include "rs_strmap.h"
#include "rs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <libpq-fe.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITER_TICK_MS      200
#define WRITER_PARTITION_MS (6LL * 3600 * 1000)
#define WRITER_REPLAY_MS    100 /* replay at most this long between queue checks */
#define WRITER_COPY_CHUNK   (256u << 10)

typedef struct writer_conn writer_conn;

/* One event of a group: the event and where its result goes. */
typedef struct writer_ref {
	Rs__Event *r_ev;
	uint8_t *r_result;
} writer_ref;

/* One writer thread and its PostgreSQL connection. */
struct writer_conn {
	struct ing_writer *c_w;
	int c_idx;
	pthread_t c_thread;
	int c_started;
	PGconn *w_pg;
	int64_t w_next_connect_ms;
	int64_t w_next_partition_ms;
	rs_idmap w_items, w_users; /* ids known to exist (catalog cache, created users) */
	int w_slow_groups;         /* groups left to write on the slow path after a duplicate */
	int w_can_flush_stats;     /* this role may call pg_stat_force_next_flush() */
	char *w_buf;               /* COPY data / id lists */
	size_t w_buflen, w_bufcap;
};

struct ing_writer {
	/* options (owned copies) */
	char *w_dsn, *w_search_path, *w_spool_dir, *w_pub_url;
	size_t w_group_max;
	int w_reconnect_ms;

	pthread_mutex_t w_mu;
	pthread_cond_t w_cv_work; /* jobs queued or stop */
	pthread_cond_t w_cv_done; /* some job finished, or the state changed */
	ing_job *w_head, *w_tail;
	int w_stop;

	/* the spool: appends by any writer thread, replay by one at a time (w_spool_mu) */
	ing_spool *w_spool;
	pthread_mutex_t w_spool_mu;
	nng_socket w_pub; /* nng sockets are thread-safe */
	int w_pub_open;
	writer_conn *w_conns;
	int w_nconns;

	/* shared */
	atomic_int w_pg_up; /* connected writer threads */
	atomic_ullong w_spool_pending;

	rs_metric *m_accepted, *m_duplicate, *m_unknown_item, *m_spooled, *m_replayed, *m_published,
	        *m_pg_down, *m_write_ms, *m_spool_gauge;
};

static char *
writer_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---- growable text buffer ---- */

static int
buf_reserve(writer_conn *c, size_t extra)
{
	if (c->w_buflen + extra <= c->w_bufcap)
		return 0;
	size_t cap = c->w_bufcap ? c->w_bufcap : WRITER_COPY_CHUNK * 2;
	while (cap < c->w_buflen + extra)
		cap *= 2;
	char *b = realloc(c->w_buf, cap);
	if (b == NULL)
		return RS_ENOMEM;
	c->w_buf = b;
	c->w_bufcap = cap;
	return 0;
}

/* Appends s in COPY text format (backslash escaped; validation already excludes control
 * characters, but they are escaped anyway), or \N for NULL/empty when null_if_empty. */
static void
buf_copy_str(writer_conn *c, const char *s, int null_if_empty)
{
	if (s == NULL || (null_if_empty && *s == '\0')) {
		memcpy(c->w_buf + c->w_buflen, "\\N", 2);
		c->w_buflen += 2;
		return;
	}
	for (const char *p = s; *p; p++) {
		char ch = *p;
		if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
			c->w_buf[c->w_buflen++] = '\\';
			ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
		}
		c->w_buf[c->w_buflen++] = ch;
	}
}

/* ---- PostgreSQL connection ---- */

static void
writer_pg_lost(writer_conn *c, const char *why)
{
	ing_writer *w = c->c_w;
	if (c->w_pg != NULL) {
		PQfinish(c->w_pg);
		c->w_pg = NULL;
		atomic_fetch_sub(&w->w_pg_up, 1);
		rs_metric_add(w->m_pg_down, 1);
		rs_log_warn("ingest.pg_down", "writer=%d why=%s spool=%s", c->c_idx, why,
		            w->w_spool != NULL ? "on" : "off");
	}
	c->w_next_connect_ms = rs_now_ms() + w->w_reconnect_ms;
}

static int
writer_ensure_partitions(writer_conn *c)
{
	int rv = rs_pg_exec(c->w_pg,
	                    "select rs_events_ensure_partitions(now() - interval '1 month', "
	                    "now() + interval '3 months')",
	                    0, NULL, PGRES_TUPLES_OK, "ensure_partitions");
	c->w_next_partition_ms = rs_now_ms() + WRITER_PARTITION_MS;
	return rv;
}

static int
writer_load_items(writer_conn *c)
{
	PGresult *res =
	        PQexecParams(c->w_pg, "select item_id from items", 0, NULL, NULL, NULL, NULL, 0);
	int rv = rs_pg_check(c->w_pg, res, PGRES_TUPLES_OK, "load_items");
	for (int i = 0; rv == 0 && i < PQntuples(res); i++) {
		int64_t a = rs_idmap_intern(&c->w_items, strtoll(PQgetvalue(res, i, 0), NULL, 10),
		                            NULL);
		if (a < 0)
			rv = (int) a;
	}
	PQclear(res);
	return rv;
}

static int
writer_connect(writer_conn *c)
{
	ing_writer *w = c->c_w;
	/* Defaults first (the DSN overrides them): a dead peer that sends no reset (cable, VM
	 * pause) is noticed in ~10 s instead of the kernel's TCP timeout, so the writer spools. */
	const char *keys[9] = {"connect_timeout",
	                       "keepalives",
	                       "keepalives_idle",
	                       "keepalives_interval",
	                       "keepalives_count",
	                       "tcp_user_timeout",
	                       "dbname",
	                       NULL,
	                       NULL};
	const char *vals[9] = {"3", "1", "5", "2", "3", "10000", w->w_dsn, NULL, NULL};
	char opts[300];
	int rv;

	if (w->w_search_path != NULL) {
		snprintf(opts, sizeof(opts), "-c search_path=%s", w->w_search_path);
		keys[7] = "options";
		vals[7] = opts;
	}
	c->w_next_connect_ms = rs_now_ms() + w->w_reconnect_ms;
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL)
		return RS_ENOMEM;
	if (PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		return RS_EUNAVAIL;
	}
	c->w_pg = conn;
	/* A statement that runs this long means a stuck server: fail the request, do not hang. */
	rv = rs_pg_exec(conn, "set statement_timeout = '30s'", 0, NULL, PGRES_COMMAND_OK,
	                "statement_timeout");
	if (rv == 0)
		rv = rs_pg_exec(
		        conn,
		        "create temp table if not exists ing_stage (seq int not null, event_id "
		        "text not null, user_id bigint not null, item_id bigint not null, type "
		        "smallint not null, value double precision, price numeric(12,2), ts_ms "
		        "bigint not null, rec_id text, variant text, position int) on commit "
		        "delete "
		        "rows",
		        0, NULL, PGRES_COMMAND_OK, "create_stage");
	if (rv == 0)
		rv = writer_load_items(c);
	/* One thread creates partitions, so two never race to create the same one. */
	if (rv == 0 && c->c_idx == 0)
		rv = writer_ensure_partitions(c);
	if (rv != 0) {
		PQfinish(conn);
		c->w_pg = NULL;
		return rv;
	}
	/* PostgreSQL 15+, and by default superusers only: asked once, so a role without it
	 * does not fill the server log with one refusal per commit. */
	PGresult *res = PQexec(conn, "select has_function_privilege("
	                             "'pg_catalog.pg_stat_force_next_flush()', 'execute')");
	c->w_can_flush_stats = rs_pg_result(conn, res, PGRES_TUPLES_OK) == 0 &&
	                       PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	atomic_fetch_add(&w->w_pg_up, 1);
	rs_log_info("ingest.pg_up", "writer=%d items_known=%zu spool_pending=%" PRIu64, c->c_idx,
	            (size_t) rs_idmap_count(&c->w_items),
	            (uint64_t) atomic_load(&w->w_spool_pending));
	pthread_mutex_lock(&w->w_mu);
	pthread_cond_broadcast(&w->w_cv_done);
	pthread_mutex_unlock(&w->w_mu);
	return 0;
}

/* ---- the group write ---- */

/* Publishes evs[0..n) (stored, newly accepted, in order) as Envelope{METHOD_EVENT_STREAM,
 * EventBatch} messages of at most WRITER_PUB_MAX events: one nng send per group, not per event
 * (a send costs ~1 µs of allocation and a getrandom call in nng). Best effort: a full or absent
 * subscriber loses messages, never blocks the writer. */
#define WRITER_PUB_MAX 1000
static void
writer_publish(ing_writer *w, Rs__Event **evs, size_t n)
{
	if (!w->w_pub_open)
		return;
	int64_t stored_ms = rs_now_ms(); /* called after the commit */
	for (size_t off = 0; off < n; off += WRITER_PUB_MAX) {
		Rs__EventBatch batch = RS__EVENT_BATCH__INIT;
		batch.stored_unix_ms = stored_ms;
		batch.n_events = n - off < WRITER_PUB_MAX ? n - off : WRITER_PUB_MAX;
		batch.events = evs + off;
		size_t blen = rs__event_batch__get_packed_size(&batch);
		uint8_t pre[RS_ENV_PREFIX_MAX];
		size_t plen = rs_env_prefix(pre, RS__METHOD__METHOD_EVENT_STREAM, blen);
		size_t len = plen + blen;
		uint8_t *b = nng_alloc(len);
		if (b == NULL)
			return;
		memcpy(b, pre, plen);
		rs__event_batch__pack(&batch, b + plen);
		/* NNG_FLAG_ALLOC: nng takes the buffer on success, no copy */
		if (nng_send(w->w_pub, b, len, NNG_FLAG_NONBLOCK | NNG_FLAG_ALLOC) == 0)
			rs_metric_add(w->m_published, batch.n_events);
		else
			nng_free(b, len);
	}
}

/* Builds "{1,2,3}" of the distinct ids in refs[*] (by item or user) that are not in `known`,
 * into w_buf. Returns the count (0 = all known), or RS_ENOMEM. */
static int
writer_missing_ids(writer_conn *c, writer_ref *refs, size_t n, int items, const rs_idmap *known)
{
	rs_idmap seen;
	int count = 0;
	rs_idmap_init(&seen);
	c->w_buflen = 0;
	if (buf_reserve(c, 2) != 0)
		return RS_ENOMEM;
	c->w_buf[c->w_buflen++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (*refs[i].r_result != ING_R_ACCEPTED)
			continue;
		int64_t id = items ? refs[i].r_ev->item_id : refs[i].r_ev->user_id;
		if (rs_idmap_find(known, id) >= 0 || rs_idmap_find(&seen, id) >= 0)
			continue;
		if (rs_idmap_intern(&seen, id, NULL) < 0 || buf_reserve(c, 24) != 0) {
			rs_idmap_fini(&seen);
			return RS_ENOMEM;
		}
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 24, "%s%" PRId64,
		                                 count ? "," : "", id);
		count++;
	}
	c->w_buf[c->w_buflen++] = '}';
	c->w_buf[c->w_buflen] = '\0';
	rs_idmap_fini(&seen);
	return count;
}

/* Items not in the cache are looked up in PostgreSQL (if connected); those still unknown are
 * marked ING_R_UNKNOWN_ITEM when PostgreSQL answered. Without a connection they stay accepted
 * (they cannot be checked) and get placeholder catalog rows when replayed. */
static int
writer_check_items(writer_conn *c, writer_ref *refs, size_t n)
{
	int miss = writer_missing_ids(c, refs, n, 1, &c->w_items);
	if (miss <= 0 || c->w_pg == NULL)
		return miss < 0 ? miss : 0;
	const char *params[1] = {c->w_buf};
	PGresult *res =
	        PQexecParams(c->w_pg, "select item_id from items where item_id = any($1::bigint[])",
	                     1, NULL, params, NULL, NULL, 0);
	int rv = rs_pg_check(c->w_pg, res, PGRES_TUPLES_OK, "check_items");
	for (int i = 0; rv == 0 && i < PQntuples(res); i++)
		if (rs_idmap_intern(&c->w_items, strtoll(PQgetvalue(res, i, 0), NULL, 10), NULL) <
		    0)
			rv = RS_ENOMEM;
	PQclear(res);
	if (rv == RS_EUNAVAIL) {
		writer_pg_lost(c, "check_items");
		return 0;
	}
	if (rv != 0)
		return rv;
	for (size_t i = 0; i < n; i++)
		if (*refs[i].r_result == ING_R_ACCEPTED &&
		    rs_idmap_find(&c->w_items, refs[i].r_ev->item_id) < 0)
			*refs[i].r_result = ING_R_UNKNOWN_ITEM;
	return 0;
}

/* Marks repeats of an event_id within the group as duplicates (the first one wins). */
static int
writer_dedupe_group(writer_ref *refs, size_t n)
{
	rs_strmap set;
	int rv = 0, fresh;
	rs_strmap_init(&set);
	if (rs_strmap_reserve(&set, n) != 0)
		rv = RS_ENOMEM;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		const char *id = refs[i].r_ev->event_id;
		if (*refs[i].r_result != ING_R_ACCEPTED)
			continue;
		if (rs_strmap_intern(&set, id, strlen(id), &fresh) < 0)
			rv = RS_ENOMEM;
		else if (!fresh)
			*refs[i].r_result = ING_R_DUPLICATE;
	}
	rs_strmap_fini(&set);
	return rv;
}

static int
writer_copy_flush(writer_conn *c)
{
	if (c->w_buflen == 0)
		return 0;
	int r = PQputCopyData(c->w_pg, c->w_buf, (int) c->w_buflen);
	c->w_buflen = 0;
	return r == 1 ? 0 : RS_EUNAVAIL;
}

/* COPY row layouts: the staging table (seq and ts_ms), events itself, or event_ids. */
enum writer_copy_mode { COPY_STAGE, COPY_EVENTS, COPY_IDS };

static const char *const WRITER_COPY_SQL[] = {
        "copy ing_stage (seq, event_id, user_id, item_id, type, value, price, ts_ms, rec_id, "
        "variant, position) from stdin",
        "copy events (event_id, user_id, item_id, type, value, price, ts, rec_id, variant, "
        "position) from stdin (format binary)",
        "copy event_ids (event_id) from stdin (format binary)",
};

/* ---- binary COPY (events, event_ids): no text parsing of timestamps/numbers on the server ---- */

static void
bin_u16(writer_conn *c, uint16_t v)
{
	c->w_buf[c->w_buflen++] = (char) (v >> 8);
	c->w_buf[c->w_buflen++] = (char) v;
}

static void
bin_u32(writer_conn *c, uint32_t v)
{
	bin_u16(c, (uint16_t) (v >> 16));
	bin_u16(c, (uint16_t) v);
}

static void
bin_u64(writer_conn *c, uint64_t v)
{
	bin_u32(c, (uint32_t) (v >> 32));
	bin_u32(c, (uint32_t) v);
}

static void
bin_text(writer_conn *c, const char *str, int null_if_empty)
{
	size_t n = str != NULL ? strlen(str) : 0;
	if (str == NULL || (null_if_empty && n == 0)) {
		bin_u32(c, 0xffffffffu);
		return;
	}
	bin_u32(c, (uint32_t) n);
	memcpy(c->w_buf + c->w_buflen, str, n);
	c->w_buflen += n;
}

/* numeric(12,2) in the binary wire format: base-10000 digits, weight, sign, dscale 2. */
static void
bin_price(writer_conn *c, double price)
{
	uint64_t cents = (uint64_t) llround(price * 100.0);
	uint64_t ip = cents / 100;
	uint16_t frac = (uint16_t) (cents % 100) * 100, groups[8];
	int ng = 0;
	for (; ip > 0 && ng < 8; ip /= 10000)
		groups[ng++] = (uint16_t) (ip % 10000);
	int ndigits = ng + (frac != 0);
	bin_u32(c, (uint32_t) (8 + 2 * ndigits));
	bin_u16(c, (uint16_t) ndigits);
	bin_u16(c, (uint16_t) (ng > 0 ? ng - 1 : -1));
	bin_u16(c, 0); /* positive */
	bin_u16(c, 2); /* dscale */
	for (int i = ng - 1; i >= 0; i--)
		bin_u16(c, groups[i]);
	if (frac != 0)
		bin_u16(c, frac);
}

static void
bin_row(writer_conn *c, const Rs__Event *ev, enum writer_copy_mode mode)
{
	union {
		double d;
		uint64_t u;
	} f;
	if (mode == COPY_IDS) {
		bin_u16(c, 1);
		bin_text(c, ev->event_id, 0);
		return;
	}
	bin_u16(c, 10);
	bin_text(c, ev->event_id, 0);
	bin_u32(c, 8);
	bin_u64(c, (uint64_t) ev->user_id);
	bin_u32(c, 8);
	bin_u64(c, (uint64_t) ev->item_id);
	bin_u32(c, 2);
	bin_u16(c, (uint16_t) ev->type);
	if (ev->has_value) {
		f.d = ev->value;
		bin_u32(c, 8);
		bin_u64(c, f.u);
	} else {
		bin_u32(c, 0xffffffffu);
	}
	if (ev->price > 0)
		bin_price(c, ev->price);
	else
		bin_u32(c, 0xffffffffu);
	bin_u32(c, 8); /* timestamptz: microseconds since 2000-01-01 UTC */
	bin_u64(c, (uint64_t) ((ev->ts_ms - 946684800000LL) * 1000));
	bin_text(c, ev->rec_id, 1);
	bin_text(c, ev->variant, 1);
	if (ev->position > 0) { /* 0: none (and every event spooled before positions existed) */
		bin_u32(c, 4);
		bin_u32(c, (uint32_t) ev->position);
	} else {
		bin_u32(c, 0xffffffffu);
	}
}

static void
buf_row(writer_conn *c, const Rs__Event *ev, size_t seq, enum writer_copy_mode mode)
{
	if (mode != COPY_STAGE) {
		bin_row(c, ev, mode);
		return;
	}
	c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 24, "%zu\t", seq);
	buf_copy_str(c, ev->event_id, 0);
	c->w_buflen +=
	        (size_t) snprintf(c->w_buf + c->w_buflen, 80, "\t%" PRId64 "\t%" PRId64 "\t%d\t",
	                          ev->user_id, ev->item_id, (int) ev->type);
	if (ev->has_value)
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 40, "%.17g\t", ev->value);
	else
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 40, "\\N\t");
	if (ev->price > 0)
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 40, "%.2f\t", ev->price);
	else
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 40, "\\N\t");
	c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 40, "%" PRId64 "\t", ev->ts_ms);
	buf_copy_str(c, ev->rec_id, 1);
	c->w_buf[c->w_buflen++] = '\t';
	buf_copy_str(c, ev->variant, 1);
	if (ev->position > 0)
		c->w_buflen +=
		        (size_t) snprintf(c->w_buf + c->w_buflen, 16, "\t%d\n", (int) ev->position);
	else
		c->w_buflen += (size_t) snprintf(c->w_buf + c->w_buflen, 16, "\t\\N\n");
}

/* COPYs the ACCEPTED refs. *dup is set when the COPY failed on a unique violation (an event_id
 * that is already stored), which the caller handles by taking the slow path. */
static int
writer_copy(writer_conn *c, writer_ref *refs, size_t n, enum writer_copy_mode mode, int *dup)
{
	PGresult *res = PQexec(c->w_pg, WRITER_COPY_SQL[mode]);
	int rv = rs_pg_check(c->w_pg, res, PGRES_COPY_IN, "copy_begin");
	PQclear(res);
	if (rv != 0)
		return rv;
	c->w_buflen = 0;
	if (mode != COPY_STAGE) {
		static const char hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
		if ((rv = buf_reserve(c, sizeof(hdr))) != 0)
			return rv;
		memcpy(c->w_buf, hdr, sizeof(hdr));
		c->w_buflen = sizeof(hdr);
	}
	for (size_t i = 0; rv == 0 && i < n; i++) {
		if (*refs[i].r_result != ING_R_ACCEPTED)
			continue;
		/* 3 strings of at most 128 chars, each escaped at most 2x, plus numbers. */
		if ((rv = buf_reserve(c, 3 * 2 * 130 + 320)) != 0)
			break;
		buf_row(c, refs[i].r_ev, i, mode);
		if (c->w_buflen >= WRITER_COPY_CHUNK)
			rv = writer_copy_flush(c);
	}
	if (rv == 0 && mode != COPY_STAGE && (rv = buf_reserve(c, 2)) == 0)
		bin_u16(c, 0xffff); /* trailer */
	if (rv == 0)
		rv = writer_copy_flush(c);
	if (PQputCopyEnd(c->w_pg, rv == 0 ? NULL : "aborted") != 1 && rv == 0)
		rv = RS_EUNAVAIL;
	while ((res = PQgetResult(c->w_pg)) != NULL) {
		if (rv == 0 && rs_pg_result(c->w_pg, res, PGRES_COMMAND_OK) != 0) {
			const char *state = rs_pg_sqlstate(res);
			if (dup != NULL && state != NULL && strcmp(state, "23505") == 0) {
				*dup = 1;
				rv = RS_EEXIST;
			} else {
				rv = rs_pg_check(c->w_pg, res, PGRES_COMMAND_OK, "copy_end");
			}
		}
		PQclear(res);
	}
	if (rv == 0 && PQstatus(c->w_pg) != CONNECTION_OK)
		rv = RS_EUNAVAIL;
	return rv;
}

static const char WRITER_INSERT_SQL[] =
        "with ins as (insert into event_ids (event_id) select event_id from ing_stage "
        "on conflict do nothing returning event_id), "
        "ev as (insert into events (event_id, user_id, item_id, type, value, price, ts, rec_id, "
        "variant, position) select s.event_id, s.user_id, s.item_id, s.type, s.value, s.price, "
        "timestamptz 'epoch' + s.ts_ms * interval '1 millisecond', s.rec_id, s.variant, "
        "s.position from ing_stage s join ins using (event_id)) "
        "select s.seq from ing_stage s join ins using (event_id)";

/* Creates the missing users (and, on replay, placeholder items) of the group inside the
 * current transaction. */
static int
writer_insert_refs_ids(writer_conn *c, writer_ref *refs, size_t n, int items, const char *sql,
                       const char *what)
{
	int missing = writer_missing_ids(c, refs, n, items, items ? &c->w_items : &c->w_users);
	if (missing <= 0)
		return missing;
	const char *params[1] = {c->w_buf};
	return rs_pg_exec(c->w_pg, sql, 1, params, PGRES_COMMAND_OK, what);
}

/* Writes the ACCEPTED refs in one transaction. On 0 every ref's result is final (accepted or
 * duplicate) and the accepted ones are published. On error nothing is committed (or the commit
 * is in doubt, which the idempotent retry through event_ids covers); results are left as they
 * were. replay: create placeholder items for unknown ids instead of rejecting them.
 *
 * Fast path: COPY the ids straight into event_ids and the rows straight into events (inside a
 * savepoint). A unique violation means some id is already stored: roll back to the savepoint
 * and take the slow path (COPY into the staging table, insert ... on conflict do nothing
 * returning the new ids, insert those). After a violation the next groups go the slow path
 * directly for a while, since retried batches tend to come in runs. */
static int
writer_pg_write(writer_conn *c, writer_ref *refs, size_t n, int replay)
{
	ing_writer *w = c->c_w;
	uint8_t *fresh = NULL;
	PGresult *res = NULL;
	size_t staged = 0;
	int rv, dup = 0, fast = 0;
	double t0 = rs_mono_ms();

	if (c->w_pg == NULL)
		return RS_EUNAVAIL;
	for (size_t i = 0; i < n; i++)
		staged += *refs[i].r_result == ING_R_ACCEPTED;
	if (staged == 0)
		return 0;
	if ((fresh = calloc(n, 1)) == NULL)
		return RS_ENOMEM;
	if ((rv = rs_pg_exec(c->w_pg, "begin", 0, NULL, PGRES_COMMAND_OK, "begin")) != 0)
		goto out;
	if ((rv = writer_insert_refs_ids(
	             c, refs, n, 0,
	             "insert into users (user_id) select u from unnest($1::bigint[]) u "
	             "order by 1 on conflict do nothing",
	             "insert_users")) < 0)
		goto rollback;
	if (replay && (rv = writer_insert_refs_ids(c, refs, n, 1,
	                                           "insert into items (item_id, attributes) select "
	                                           "i, '{\"placeholder\": true}'::jsonb from "
	                                           "unnest($1::bigint[]) i order by 1 on "
	                                           "conflict do nothing",
	                                           "insert_placeholder_items")) < 0)
		goto rollback;
	if (c->w_slow_groups > 0) {
		c->w_slow_groups--;
	} else {
		if ((rv = rs_pg_exec(c->w_pg, "savepoint fast", 0, NULL, PGRES_COMMAND_OK,
		                     "savepoint")) != 0)
			goto rollback;
		rv = writer_copy(c, refs, n, COPY_IDS, &dup);
		if (rv == 0)
			rv = writer_copy(c, refs, n, COPY_EVENTS, NULL);
		if (rv == 0) {
			fast = 1;
			for (size_t i = 0; i < n; i++)
				fresh[i] = *refs[i].r_result == ING_R_ACCEPTED;
		} else if (dup) {
			c->w_slow_groups = 16;
			if ((rv = rs_pg_exec(c->w_pg, "rollback to savepoint fast", 0, NULL,
			                     PGRES_COMMAND_OK, "rollback_savepoint")) != 0)
				goto rollback;
		} else {
			goto rollback;
		}
	}
	if (!fast) {
		if ((rv = writer_copy(c, refs, n, COPY_STAGE, NULL)) != 0)
			goto rollback;
		res = PQexecParams(c->w_pg, WRITER_INSERT_SQL, 0, NULL, NULL, NULL, NULL, 0);
		if ((rv = rs_pg_check(c->w_pg, res, PGRES_TUPLES_OK, "insert_events")) != 0)
			goto rollback;
		for (int i = 0; i < PQntuples(res); i++) {
			size_t seq = (size_t) strtoull(PQgetvalue(res, i, 0), NULL, 10);
			if (seq < n)
				fresh[seq] = 1;
		}
		PQclear(res);
		res = NULL;
	}
	if ((rv = rs_pg_exec(c->w_pg, "commit", 0, NULL, PGRES_COMMAND_OK, "commit")) != 0)
		goto out;
	/* Best effort, after the commit: have this backend publish its write counters now rather
	 * than up to 10 s later; rs-candidate watches them to know when to rescan the events
	 * (services/candidate/README.md). Without the right to call it, rs-candidate sees new
	 * events within 1-10 s instead. */
	if (c->w_can_flush_stats)
		PQclear(PQexec(c->w_pg, "select pg_stat_force_next_flush()"));

	/* Durable: finalize results, learn ids, publish. */
	uint64_t acc = 0, dupl = 0;
	/* NULL (no pub socket, or no memory): nothing is published */
	Rs__Event **pub = w->w_pub_open ? malloc((n ? n : 1) * sizeof(*pub)) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (*refs[i].r_result != ING_R_ACCEPTED)
			continue;
		rs_idmap_intern(&c->w_users, refs[i].r_ev->user_id, NULL);
		if (replay)
			rs_idmap_intern(&c->w_items, refs[i].r_ev->item_id, NULL);
		if (fresh[i]) {
			if (pub != NULL)
				pub[acc] = refs[i].r_ev;
			acc++;
		} else {
			*refs[i].r_result = ING_R_DUPLICATE;
			dupl++;
		}
	}
	if (pub != NULL)
		writer_publish(w, pub, acc);
	free(pub);
	rs_metric_add(replay ? w->m_replayed : w->m_accepted, acc);
	rs_metric_add(w->m_duplicate, dupl);
	rs_metric_observe(w->m_write_ms, rs_mono_ms() - t0);
	if (rs_log_enabled(RS_LOG_DEBUG))
		rs_log_debug("ingest.group_written",
		             "events=%zu accepted=%" PRIu64 " duplicates=%" PRIu64
		             " path=%s replay=%d ms=%.1f",
		             staged, acc, dupl, fast ? "copy" : "staging", replay,
		             rs_mono_ms() - t0);
	goto out;
rollback:
	PQclear(res);
	res = NULL;
	if (PQstatus(c->w_pg) == CONNECTION_OK)
		rs_pg_exec(c->w_pg, "rollback", 0, NULL, PGRES_COMMAND_OK, "rollback");
out:
	PQclear(res);
	free(fresh);
	if (rv > 0)
		rv = 0;
	if (rv != 0 && c->w_pg != NULL && PQstatus(c->w_pg) != CONNECTION_OK)
		rv = RS_EUNAVAIL;
	return rv;
}

/* ---- spool ---- */

static int
writer_spool_write(ing_writer *w, writer_ref *refs, size_t n)
{
	Rs__EventBatch batch = RS__EVENT_BATCH__INIT;
	Rs__Event **evs = malloc((n ? n : 1) * sizeof(*evs));
	uint8_t *buf = NULL;
	int rv;

	if (evs == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (*refs[i].r_result == ING_R_ACCEPTED)
			evs[batch.n_events++] = refs[i].r_ev;
	if (batch.n_events == 0) {
		free(evs);
		return 0;
	}
	batch.events = evs;
	size_t len = rs__event_batch__get_packed_size(&batch);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		free(evs);
		return RS_ENOMEM;
	}
	rs__event_batch__pack(&batch, buf);
	pthread_mutex_lock(&w->w_spool_mu);
	rv = ing_spool_append(w->w_spool, buf, len);
	if (rv == 0) {
		rs_metric_add(w->m_spooled, batch.n_events);
		atomic_store(&w->w_spool_pending, ing_spool_pending(w->w_spool));
		rs_metric_set(w->m_spool_gauge, (double) ing_spool_pending(w->w_spool));
	}
	pthread_mutex_unlock(&w->w_spool_mu);
	free(buf);
	free(evs);
	return rv;
}

/* Replays spool records into PostgreSQL for at most WRITER_REPLAY_MS. */
static void
writer_replay(writer_conn *c)
{
	ing_writer *w = c->c_w;
	double t0 = rs_mono_ms();
	while (c->w_pg != NULL && rs_mono_ms() - t0 < WRITER_REPLAY_MS) {
		const uint8_t *data;
		size_t len;
		int rv = ing_spool_peek(w->w_spool, &data, &len);
		if (rv == RS_ENOTFOUND)
			break;
		if (rv != 0) {
			rs_log_error("ingest.replay_failed", "err=%s", rs_strerror(rv));
			break;
		}
		Rs__EventBatch *b = rs__event_batch__unpack(NULL, len, data);
		if (b == NULL) {
			/* CRC-checked, so only a bug writes this; skip it loudly. */
			rs_log_error("ingest.replay_skipped_record", "len=%zu", len);
			ing_spool_pop(w->w_spool);
			continue;
		}
		writer_ref *refs = malloc((b->n_events ? b->n_events : 1) * sizeof(*refs));
		uint8_t *res = calloc(b->n_events ? b->n_events : 1, 1);
		if (refs == NULL || res == NULL)
			rv = RS_ENOMEM;
		for (size_t i = 0; rv == 0 && i < b->n_events; i++)
			refs[i] = (writer_ref){b->events[i], &res[i]};
		if (rv == 0)
			rv = writer_dedupe_group(refs, b->n_events);
		if (rv == 0)
			rv = writer_pg_write(c, refs, b->n_events, 1);
		free(refs);
		free(res);
		rs__event_batch__free_unpacked(b, NULL);
		if (rv == RS_EUNAVAIL) {
			writer_pg_lost(c, "replay");
			break;
		}
		if (rv != 0) {
			rs_log_error("ingest.replay_failed", "err=%s", rs_strerror(rv));
			c->w_next_connect_ms = rs_now_ms() + w->w_reconnect_ms;
			break;
		}
		ing_spool_pop(w->w_spool);
		atomic_store(&w->w_spool_pending, ing_spool_pending(w->w_spool));
		rs_metric_set(w->m_spool_gauge, (double) ing_spool_pending(w->w_spool));
		if (ing_spool_pending(w->w_spool) == 0) {
			rs_log_info("ingest.spool_drained", "writer=%d ms=%.0f", c->c_idx,
			            rs_mono_ms() - t0);
			pthread_mutex_lock(&w->w_mu);
			pthread_cond_broadcast(&w->w_cv_done);
			pthread_mutex_unlock(&w->w_mu);
		}
	}
}

/* ---- the thread ---- */

static void
writer_process(writer_conn *c, ing_job *jobs)
{
	ing_writer *w = c->c_w;
	size_t n = 0, k = 0;
	int rv = 0, spooled = 0;
	for (ing_job *j = jobs; j != NULL; j = j->j_next)
		n += j->j_n;
	writer_ref *refs = malloc((n ? n : 1) * sizeof(*refs));
	if (refs == NULL) {
		rv = RS_ENOMEM;
		goto done;
	}
	for (ing_job *j = jobs; j != NULL; j = j->j_next)
		for (size_t i = 0; i < j->j_n; i++) {
			j->j_results[i] = ING_R_ACCEPTED;
			refs[k++] = (writer_ref){j->j_events[i], &j->j_results[i]};
		}
	if ((rv = writer_dedupe_group(refs, n)) != 0 || (rv = writer_check_items(c, refs, n)) != 0)
		goto done;
	rv = RS_EUNAVAIL;
	/* While the spool holds records, new groups queue behind them (order). */
	if (c->w_pg != NULL && atomic_load(&w->w_spool_pending) == 0) {
		rv = writer_pg_write(c, refs, n, 0);
		/* A database error such as a deadlock between the two writers (both creating the
		 * same new users, or a retried batch racing its original) goes away on a retry. */
		for (int attempt = 0; rv == RS_EDB && attempt < 2; attempt++)
			rv = writer_pg_write(c, refs, n, 0);
		if (rv == RS_EUNAVAIL)
			writer_pg_lost(c, "write");
	}
	if (rv == RS_EUNAVAIL && w->w_spool != NULL) {
		rv = writer_spool_write(w, refs, n);
		spooled = rv == 0;
		if (rv != 0)
			rv = RS_EUNAVAIL;
	}
done:
	if (rv == 0) {
		uint64_t unknown = 0;
		for (size_t i = 0; i < n; i++)
			unknown += *refs[i].r_result == ING_R_UNKNOWN_ITEM;
		rs_metric_add(w->m_unknown_item, unknown);
	}
	free(refs);
	pthread_mutex_lock(&w->w_mu);
	for (ing_job *j = jobs; j != NULL;) {
		ing_job *next = j->j_next;
		j->j_rv = rv;
		j->j_spooled = spooled;
		j->j_done = 1;
		j = next;
	}
	pthread_cond_broadcast(&w->w_cv_done);
	pthread_mutex_unlock(&w->w_mu);
}

static void *
writer_main(void *arg)
{
	writer_conn *c = arg;
	ing_writer *w = c->c_w;
	for (;;) {
		ing_job *jobs = NULL, **tailp = &jobs;
		size_t nev = 0;
		int stopping;

		pthread_mutex_lock(&w->w_mu);
		if (w->w_head == NULL && !w->w_stop) {
			int ms = (c->w_pg != NULL && atomic_load(&w->w_spool_pending) > 0)
			                 ? 2
			                 : WRITER_TICK_MS;
			struct timespec ts = rs_deadline_in(CLOCK_REALTIME, ms);
			pthread_cond_timedwait(&w->w_cv_work, &w->w_mu, &ts);
		}
		while (w->w_head != NULL &&
		       (jobs == NULL || nev + w->w_head->j_n <= w->w_group_max)) {
			ing_job *j = w->w_head;
			w->w_head = j->j_next;
			j->j_next = NULL;
			*tailp = j;
			tailp = &j->j_next;
			nev += j->j_n;
		}
		if (w->w_head == NULL)
			w->w_tail = NULL;
		stopping = w->w_stop && jobs == NULL;
		pthread_mutex_unlock(&w->w_mu);
		if (stopping)
			break;

		/* Jobs first: without a connection they go to the spool at once. */
		if (jobs != NULL)
			writer_process(c, jobs);
		/* While PostgreSQL is down only writer 0 probes it (a connect to an unreachable
		 * host blocks for connect_timeout); the others follow once it answers. */
		if (c->w_pg == NULL && rs_now_ms() >= c->w_next_connect_ms &&
		    (c->c_idx == 0 || atomic_load(&w->w_pg_up) > 0))
			writer_connect(c);
		if (c->w_pg != NULL && c->c_idx == 0 && rs_now_ms() >= c->w_next_partition_ms &&
		    writer_ensure_partitions(c) == RS_EUNAVAIL)
			writer_pg_lost(c, "partitions");
		/* One thread at a time replays; appends by the others wait for it. */
		if (c->w_pg != NULL && atomic_load(&w->w_spool_pending) > 0 &&
		    pthread_mutex_trylock(&w->w_spool_mu) == 0) {
			writer_replay(c);
			pthread_mutex_unlock(&w->w_spool_mu);
		}
	}
	return NULL;
}

int
ing_writer_submit(ing_writer *w, ing_job *job)
{
	job->j_done = 0;
	job->j_rv = 0;
	job->j_spooled = 0;
	job->j_next = NULL;
	if (job->j_n == 0)
		return 0;
	pthread_mutex_lock(&w->w_mu);
	if (w->w_tail != NULL)
		w->w_tail->j_next = job;
	else
		w->w_head = job;
	w->w_tail = job;
	pthread_cond_signal(&w->w_cv_work);
	while (!job->j_done)
		pthread_cond_wait(&w->w_cv_done, &w->w_mu);
	pthread_mutex_unlock(&w->w_mu);
	return job->j_rv;
}

void
ing_writer_status_get(ing_writer *w, ing_writer_status *st)
{
	st->pg_up = atomic_load(&w->w_pg_up);
	st->spool_enabled = w->w_spool_dir != NULL;
	st->spool_writable = w->w_spool_dir != NULL && access(w->w_spool_dir, W_OK) == 0;
	st->spool_pending = atomic_load(&w->w_spool_pending);
}

int
ing_writer_wait_idle(ing_writer *w, int timeout_ms)
{
	double t0 = rs_mono_ms();
	int rv = RS_ETIMEDOUT;
	pthread_mutex_lock(&w->w_mu);
	for (;;) {
		if (atomic_load(&w->w_pg_up) && atomic_load(&w->w_spool_pending) == 0 &&
		    w->w_head == NULL) {
			rv = 0;
			break;
		}
		double left = timeout_ms - (rs_mono_ms() - t0);
		if (left <= 0)
			break;
		struct timespec ts =
		        rs_deadline_in(CLOCK_REALTIME, left < 50 ? (int64_t) left : 50);
		pthread_cond_timedwait(&w->w_cv_done, &w->w_mu, &ts);
	}
	pthread_mutex_unlock(&w->w_mu);
	return rv;
}

int
ing_writer_open(ing_writer **out, const ing_writer_opts *o)
{
	ing_writer *w;
	int rv;

	if (o->dsn == NULL)
		return RS_EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&w->w_mu, NULL);
	pthread_mutex_init(&w->w_spool_mu, NULL);
	pthread_cond_init(&w->w_cv_work, NULL);
	pthread_cond_init(&w->w_cv_done, NULL);
	w->w_nconns = o->writers > 0 ? o->writers : 2;
	if ((w->w_conns = calloc((size_t) w->w_nconns, sizeof(*w->w_conns))) == NULL) {
		free(w);
		return RS_ENOMEM;
	}
	for (int i = 0; i < w->w_nconns; i++) {
		w->w_conns[i].c_w = w;
		w->w_conns[i].c_idx = i;
		rs_idmap_init(&w->w_conns[i].w_items);
		rs_idmap_init(&w->w_conns[i].w_users);
	}
	w->w_dsn = writer_strdup(o->dsn);
	w->w_search_path = writer_strdup(o->search_path);
	w->w_spool_dir = writer_strdup(o->spool_dir);
	w->w_pub_url = writer_strdup(o->pub_url);
	w->w_group_max = o->group_max_events ? o->group_max_events : 20000;
	w->w_reconnect_ms = o->reconnect_ms > 0 ? o->reconnect_ms : 500;
	if (w->w_dsn == NULL || (o->search_path && !w->w_search_path) ||
	    (o->spool_dir && !w->w_spool_dir) || (o->pub_url && !w->w_pub_url)) {
		rv = RS_ENOMEM;
		goto fail;
	}
	w->m_accepted = rs_metrics_counter("rs_ingest_events_total", "events by outcome",
	                                   "result=\"accepted\"");
	w->m_duplicate = rs_metrics_counter("rs_ingest_events_total", "events by outcome",
	                                    "result=\"duplicate\"");
	w->m_unknown_item = rs_metrics_counter("rs_ingest_events_total", "events by outcome",
	                                       "result=\"unknown_item\"");
	w->m_spooled = rs_metrics_counter("rs_ingest_events_total", "events by outcome",
	                                  "result=\"spooled\"");
	w->m_replayed = rs_metrics_counter("rs_ingest_events_total", "events by outcome",
	                                   "result=\"replayed\"");
	w->m_published = rs_metrics_counter("rs_ingest_published_total",
	                                    "events published on the pub socket", NULL);
	w->m_pg_down = rs_metrics_counter("rs_ingest_pg_down_total",
	                                  "times the PostgreSQL connection was lost", NULL);
	w->m_write_ms = rs_metrics_histogram("rs_ingest_write_ms",
	                                     "PostgreSQL group write time (ms)", NULL);
	w->m_spool_gauge = rs_metrics_gauge("rs_ingest_spool_pending",
	                                    "spool records waiting for replay", NULL);
	if (w->w_spool_dir != NULL &&
	    (rv = ing_spool_open(&w->w_spool, w->w_spool_dir, o->spool_segment_bytes)) != 0)
		goto fail;
	if (w->w_spool != NULL) {
		atomic_store(&w->w_spool_pending, ing_spool_pending(w->w_spool));
		rs_metric_set(w->m_spool_gauge, (double) ing_spool_pending(w->w_spool));
	}
	if (w->w_pub_url != NULL) {
		if ((rv = nng_pub0_open(&w->w_pub)) != 0) {
			rv = rs_err_from_nng(rv);
			goto fail;
		}
		w->w_pub_open = 1;
		if ((rv = nng_listen(w->w_pub, w->w_pub_url, NULL, 0)) != 0) {
			rs_log_error("ingest.pub_listen_failed", "url=%s err=\"%s\"", w->w_pub_url,
			             nng_strerror(rv));
			rv = rs_err_from_nng(rv);
			goto fail;
		}
	}
	for (int i = 0; i < w->w_nconns; i++) {
		writer_conn *c = &w->w_conns[i];
		writer_connect(c); /* PostgreSQL may be down: the thread retries */
		if (pthread_create(&c->c_thread, NULL, writer_main, c) != 0) {
			rv = RS_ENOMEM;
			goto fail;
		}
		c->c_started = 1;
	}
	*out = w;
	return 0;
fail:
	ing_writer_close(w);
	return rv;
}

void
ing_writer_close(ing_writer *w)
{
	if (w == NULL)
		return;
	/* Every thread drains the queue before it exits. */
	pthread_mutex_lock(&w->w_mu);
	w->w_stop = 1;
	pthread_cond_broadcast(&w->w_cv_work);
	pthread_mutex_unlock(&w->w_mu);
	for (int i = 0; i < w->w_nconns; i++) {
		writer_conn *c = &w->w_conns[i];
		if (c->c_started)
			pthread_join(c->c_thread, NULL);
		if (c->w_pg != NULL)
			PQfinish(c->w_pg);
		rs_idmap_fini(&c->w_items);
		rs_idmap_fini(&c->w_users);
		free(c->w_buf);
	}
	free(w->w_conns);
	ing_spool_close(w->w_spool);
	if (w->w_pub_open)
		nng_close(w->w_pub);
	free(w->w_dsn);
	free(w->w_search_path);
	free(w->w_spool_dir);
	free(w->w_pub_url);
	pthread_cond_destroy(&w->w_cv_work);
	pthread_cond_destroy(&w->w_cv_done);
	pthread_mutex_destroy(&w->w_mu);
	pthread_mutex_destroy(&w->w_spool_mu);
	free(w);
}
