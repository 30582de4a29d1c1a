#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rs_err.h"
#include "rs_hash.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"

/* Reconnect waits: doubling from MIN up to MAX, each drawn from [wait/2, wait] (jitter: the
 * replicas of a fleet do not reconnect in step). A request that finds no usable connection asks
 * for an attempt at the next maintenance pass instead (feat_store_maintain), so the first request
 * after PostgreSQL is back brings the pool back whatever the wait had grown to. */
#define STORE_BACKOFF_MIN_MS 100
#define STORE_BACKOFF_MAX_MS 500
#define STORE_PING_MS        1000

typedef struct store_slot {
	PGconn *ss_conn;
	int ss_busy;      /* taken by a request or by maintenance */
	int ss_broken;    /* must be reset before reuse (failed, or abandoned mid-query) */
	int ss_abandoned; /* broken only because a request stopped waiting: try a cancel first */
} store_slot;

struct feat_store {
	pthread_mutex_t st_mu;
	pthread_cond_t st_cv;
	store_slot *st_slots;
	int st_n;
	char *st_dsn;
	int st_stmt_ms;
	atomic_int st_ready;
	/* maintenance thread only: */
	double st_next_retry_ms;
	int st_backoff_ms;
	double st_last_ping_ms;
	uint64_t st_jitter;     /* rs_splitmix64 state */
	unsigned long st_fails; /* connect attempts that failed (feat_store_stats) */
	unsigned long st_wakes; /* attempts a request asked for */
	double st_last_wait_ms; /* the last scheduled wait */
	atomic_int st_wanted;   /* a request found no usable connection */
};

/* The newest `limit` events of one user plus their count and whether the user exists, in one
 * round trip (one statement, so one snapshot for the count and the events): a header row
 * (n, known, and NULL event columns) and one row per event (NULL n and known), so the count and
 * the flag are sent once, not with every event. The events come from event_history
 * (db/migrations/0010), the unpartitioned copy of events that triggers keep: the count and the
 * newest events are two index scans over event_history_user_idx (user_id, ts desc, event_id
 * desc) include (item_id, type, value), index-only wherever the heap page is all-visible, the
 * second already in the order asked for; events itself took one scan per monthly partition (17
 * on a shop created today; 0.8-1.0 ms of PostgreSQL's CPU per first sight on the 10,000 x
 * 20,000 bench shop: docs/BENCHMARKS.md, issue 11, session 10). The count is its own scan
 * rather than count(*) over () on the events read, which kept every event of the user in a
 * tuplestore first. No order by on the union: store_read_history finds the header wherever it
 * comes and puts the events in order (they come in the index's order; a sort in PostgreSQL
 * would be work per load for nothing).
 * Prepared once per connection (LOAD_STMT) with a generic plan: planning it per call costs more
 * PostgreSQL CPU than running it (on the partitioned table, ~6 ms per first sight). Results
 * come in binary (LOAD_TYPES): no text output or parsing of numbers and timestamps; ts is
 * PostgreSQL's microseconds since 2000-01-01, turned into Unix ms here (store_ts_ms). */
#define LOAD_STMT "feature_load_user"
static const char load_sql[] =
        "select (select count(*) from event_history where user_id = $1::bigint) as n,\n"
        "       exists(select 1 from users where user_id = $1::bigint) as known,\n"
        "       null::text as event_id, null::bigint as item_id, null::smallint as type,\n"
        "       null::timestamptz as ts, null::float8 as value\n"
        "union all\n"
        "(select null, null, event_id, item_id, type, ts, coalesce(value, 0)\n"
        " from event_history where user_id = $1::bigint\n"
        " order by ts desc, event_id desc limit $2::int)";

/* The result's columns: their type oids (pg_type.h: int8, bool, text, int8, int2, timestamptz,
 * float8) and binary lengths (-1: any). Checked on every result, so a changed query or schema
 * fails the load instead of being misread. */
enum { LOAD_N, LOAD_KNOWN, LOAD_EVENT_ID, LOAD_ITEM_ID, LOAD_TYPE, LOAD_TS, LOAD_VALUE, LOAD_COLS };
static const struct {
	unsigned oid;
	int len;
} load_types[LOAD_COLS] = {{20, 8}, {16, 1}, {25, -1}, {20, 8}, {21, 2}, {1184, 8}, {701, 8}};

/* Big-endian binary values as PostgreSQL sends them. */
static uint64_t
store_be64(const char *p)
{
	const unsigned char *b = (const unsigned char *) p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int16_t
store_be16(const char *p)
{
	const unsigned char *b = (const unsigned char *) p;
	return (int16_t) (uint16_t) ((unsigned) b[0] << 8 | b[1]);
}

/* PostgreSQL's timestamptz (microseconds since 2000-01-01 UTC) as Unix milliseconds, rounded
 * half away from zero: what (extract(epoch from ts) * 1000)::bigint gave when the history was
 * read as text. RS_EINVAL for +-infinity and values beyond int64 ms (that cast failed too). */
#define PG_EPOCH_UNIX_US 946684800000000LL
static int
store_ts_ms(int64_t pg_us, int64_t *ms)
{
	if (pg_us >= INT64_MAX - PG_EPOCH_UNIX_US || pg_us <= INT64_MIN + PG_EPOCH_UNIX_US)
		return RS_EINVAL;
	int64_t us = pg_us + PG_EPOCH_UNIX_US;
	*ms = us >= 0 ? (us + 500) / 1000 : -((-us + 500) / 1000);
	return 0;
}

static int
store_connect(feat_store *s, PGconn **out)
{
	PGconn *c;
	char sql[64];
	int rv;

	if ((rv = rs_pg_connect(s->st_dsn, &c)) != 0)
		return rv;
	snprintf(sql, sizeof(sql), "set statement_timeout = %d", s->st_stmt_ms);
	if ((rv = rs_pg_exec(c, sql, 0, NULL, PGRES_COMMAND_OK, "feature.set_timeout")) != 0 ||
	    (rv = rs_pg_exec(c, "set plan_cache_mode = force_generic_plan", 0, NULL,
	                     PGRES_COMMAND_OK, "feature.set_plan_cache_mode")) != 0) {
		PQfinish(c);
		return rv;
	}
	PGresult *res = PQprepare(c, LOAD_STMT, load_sql, 2, NULL);
	if ((rv = rs_pg_check(c, res, PGRES_COMMAND_OK, "feature.prepare")) != 0) {
		PQclear(res);
		PQfinish(c);
		return rv;
	}
	PQclear(res);
	*out = c;
	return 0;
}

static void
store_update_ready_locked(feat_store *s)
{
	int ok = 0;
	for (int i = 0; i < s->st_n; i++)
		if (s->st_slots[i].ss_conn != NULL && !s->st_slots[i].ss_broken)
			ok = 1;
	atomic_store(&s->st_ready, ok);
}

/* After a failed connect: the next attempt in [backoff/2, backoff] ms; backoff doubles up to
 * STORE_BACKOFF_MAX_MS. Maintenance thread (or open) only. */
static void
store_retry_later(feat_store *s)
{
	int half = s->st_backoff_ms / 2;
	s->st_last_wait_ms = half + (double) (rs_splitmix64(&s->st_jitter) % (uint64_t) (half + 1));
	s->st_next_retry_ms = rs_mono_ms() + s->st_last_wait_ms;
	s->st_backoff_ms = s->st_backoff_ms * 2 > STORE_BACKOFF_MAX_MS ? STORE_BACKOFF_MAX_MS
	                                                               : s->st_backoff_ms * 2;
	s->st_fails++;
}

void
feat_store_stats(feat_store *s, feat_store_stat *out)
{
	*out = (feat_store_stat){.fails = s->st_fails,
	                         .wakes = s->st_wakes,
	                         .last_wait_ms = s->st_last_wait_ms,
	                         .max_wait_ms = STORE_BACKOFF_MAX_MS};
}

int
feat_store_open(feat_store **out, const char *dsn, int nconns, int stmt_timeout_ms)
{
	feat_store *s;
	size_t n;

	if (dsn == NULL || nconns < 1 || nconns > 256 || stmt_timeout_ms < 1)
		return RS_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RS_ENOMEM;
	/* A connect attempt must not hang on an unreachable host (keyword DSNs only). */
	n = strlen(dsn) + 32;
	s->st_dsn = malloc(n);
	s->st_slots = calloc((size_t) nconns, sizeof(*s->st_slots));
	if (s->st_dsn == NULL || s->st_slots == NULL) {
		free(s->st_dsn);
		free(s->st_slots);
		free(s);
		return RS_ENOMEM;
	}
	if (strstr(dsn, "connect_timeout") == NULL && strstr(dsn, "://") == NULL)
		snprintf(s->st_dsn, n, "%s connect_timeout=2", dsn);
	else
		snprintf(s->st_dsn, n, "%s", dsn);
	s->st_n = nconns;
	s->st_stmt_ms = stmt_timeout_ms;
	s->st_backoff_ms = STORE_BACKOFF_MIN_MS;
	s->st_jitter = (uint64_t) rs_now_ms() ^ (uint64_t) (uintptr_t) s;
	atomic_init(&s->st_wanted, 0);
	pthread_mutex_init(&s->st_mu, NULL);
	pthread_cond_init(&s->st_cv, NULL);
	for (int i = 0; i < nconns; i++) {
		if (store_connect(s, &s->st_slots[i].ss_conn) != 0) {
			store_retry_later(s);
			break; /* the database is down: the rest come from feat_store_maintain */
		}
	}
	store_update_ready_locked(s);
	*out = s;
	return 0;
}

void
feat_store_close(feat_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->st_n; i++)
		if (s->st_slots[i].ss_conn != NULL)
			PQfinish(s->st_slots[i].ss_conn);
	pthread_cond_destroy(&s->st_cv);
	pthread_mutex_destroy(&s->st_mu);
	free(s->st_slots);
	free(s->st_dsn);
	free(s);
}

int
feat_store_ready(feat_store *s)
{
	return atomic_load(&s->st_ready);
}

/* Takes a healthy idle connection, waiting until deadline_unix_ms for one to free up. */
static int
store_acquire(feat_store *s, int64_t deadline_unix_ms, int *slot)
{
	struct timespec ts = {.tv_sec = (time_t) (deadline_unix_ms / 1000),
	                      .tv_nsec = (long) (deadline_unix_ms % 1000) * 1000000L};
	int rv = 0;

	pthread_mutex_lock(&s->st_mu);
	for (;;) {
		int healthy = 0, recovering = 0;
		for (int i = 0; i < s->st_n; i++) {
			store_slot *sl = &s->st_slots[i];
			if (sl->ss_conn != NULL && sl->ss_broken && sl->ss_abandoned)
				recovering++;
			if (sl->ss_conn == NULL || sl->ss_broken)
				continue;
			healthy++;
			if (!sl->ss_busy) {
				sl->ss_busy = 1;
				*slot = i;
				goto out;
			}
		}
		if (healthy == 0) {
			/* the maintenance thread tries at once instead of after its wait */
			atomic_store(&s->st_wanted, 1);
			/* Connections that only ran out of a request's time come back once their
			 * query is cancelled: wait for them. Failing at once instead made every
			 * request fail while the last ones were cancelled (a busy machine's cold
			 * pass at 16 connections: thousands of degraded answers in a second). */
			if (recovering == 0) {
				rv = RS_EUNAVAIL;
				goto out;
			}
		}
		if (pthread_cond_timedwait(&s->st_cv, &s->st_mu, &ts) == ETIMEDOUT) {
			rv = RS_ETIMEDOUT;
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&s->st_mu);
	return rv;
}

static void
store_release(feat_store *s, int slot, int broken, int abandoned)
{
	pthread_mutex_lock(&s->st_mu);
	s->st_slots[slot].ss_busy = 0;
	if (broken)
		s->st_slots[slot].ss_broken = 1;
	s->st_slots[slot].ss_abandoned = broken && abandoned;
	store_update_ready_locked(s);
	pthread_cond_broadcast(&s->st_cv);
	pthread_mutex_unlock(&s->st_mu);
}

/* Runs one parameterized query (the prepared statement stmt, else sql), waiting at most until
 * deadline_unix_ms; results in text (binary 0) or binary (1). On RS_ETIMEDOUT or RS_EUNAVAIL
 * the connection is unusable (*broken = 1). On 0, *out is the caller's to PQclear. */
static int
store_query(PGconn *c, const char *stmt, const char *sql, int np, const char *const *params,
            int binary, int64_t deadline_unix_ms, const char *what, PGresult **out, int *broken)
{
	PGresult *res = NULL, *r;
	int rv;

	*broken = 0;
	if (!(stmt != NULL ? PQsendQueryPrepared(c, stmt, np, params, NULL, NULL, binary)
	                   : PQsendQueryParams(c, sql, np, NULL, params, NULL, NULL, binary))) {
		*broken = PQstatus(c) != CONNECTION_OK;
		return rs_pg_check(c, NULL, PGRES_TUPLES_OK, what);
	}
	for (;;) {
		while (PQisBusy(c)) {
			int left = (int) (deadline_unix_ms - rs_now_ms());
			struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
			if (left <= 0) {
				rs_log_warn("feature.pg_deadline", "what=%s", what);
				*broken = 1;
				PQclear(res);
				return RS_ETIMEDOUT;
			}
			if (poll(&pfd, 1, left) < 0 && errno != EINTR) {
				*broken = 1;
				PQclear(res);
				return RS_EUNAVAIL;
			}
			if (!PQconsumeInput(c)) {
				*broken = 1;
				PQclear(res);
				return rs_pg_check(c, NULL, PGRES_TUPLES_OK, what);
			}
		}
		if ((r = PQgetResult(c)) == NULL)
			break;
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if ((rv = rs_pg_check(c, res, PGRES_TUPLES_OK, what)) != 0) {
		const char *state = rs_pg_sqlstate(res);
		if (state != NULL && strcmp(state, "57014") == 0)
			rv = RS_ETIMEDOUT; /* statement_timeout */
		*broken = PQstatus(c) != CONNECTION_OK;
		PQclear(res);
		return rv;
	}
	*out = res;
	return 0;
}

/* Row i's event (its LOAD_EVENT_ID, ts in ms) compared with row j's: the newer first, then
 * the larger event id (byte order, as collate "C"). */
static int
store_row_before(const PGresult *res, int i, int64_t ms_i, int j, int64_t ms_j)
{
	if (ms_i != ms_j)
		return ms_i > ms_j;
	int li = PQgetlength(res, i, LOAD_EVENT_ID), lj = PQgetlength(res, j, LOAD_EVENT_ID);
	int c = memcmp(PQgetvalue(res, i, LOAD_EVENT_ID), PQgetvalue(res, j, LOAD_EVENT_ID),
	               (size_t) (li < lj ? li : lj));
	return c != 0 ? c > 0 : li > lj;
}

/* The load's binary result (load_sql) into out (room for limit events), newest first by ts in
 * ms, then by event id: the rows come by the microsecond ts, and events within the same
 * millisecond are put in event id order here, as when ts was ordered in ms. RS_EDB when the
 * result is not shaped as load_sql's (one header row with n and known, event rows with every
 * event column), RS_EINVAL for a ts beyond int64 ms, RS_ENOMEM. */
static int
store_read_history(const PGresult *res, uint32_t limit, feat_event *out, uint32_t *n,
                   uint64_t *total, int *known)
{
	int rows = PQntuples(res), header = -1, nev = 0;

	if (PQnfields(res) != LOAD_COLS) {
		rs_log_warn("feature.load_bad_result", "columns=%d", PQnfields(res));
		return RS_EDB;
	}
	for (int c = 0; c < LOAD_COLS; c++)
		if (PQftype(res, c) != load_types[c].oid || PQfformat(res, c) != 1) {
			rs_log_warn("feature.load_bad_result", "column=%d type=%u", c,
			            (unsigned) PQftype(res, c));
			return RS_EDB;
		}
	/* The header is the row without an event; it alone has n and known, an event row has
	 * every event column and neither of those, each value of its column's binary length. */
	for (int i = 0; i < rows; i++) {
		int is_header = PQgetisnull(res, i, LOAD_EVENT_ID);
		if (is_header) {
			if (header >= 0) {
				rs_log_warn("feature.load_bad_result", "row=%d second header", i);
				return RS_EDB;
			}
			header = i;
		} else {
			nev++;
		}
		for (int c = 0; c < LOAD_COLS; c++) {
			int want_null = (c == LOAD_N || c == LOAD_KNOWN) != is_header;
			if (PQgetisnull(res, i, c) != want_null) {
				rs_log_warn("feature.load_bad_result", "row=%d column=%d null=%d",
				            i, c, !want_null);
				return RS_EDB;
			}
			if (!want_null && load_types[c].len >= 0 &&
			    PQgetlength(res, i, c) != load_types[c].len) {
				rs_log_warn("feature.load_bad_result", "row=%d column=%d length=%d",
				            i, c, PQgetlength(res, i, c));
				return RS_EDB;
			}
		}
	}
	if (header < 0) {
		rs_log_warn("feature.load_bad_result", "rows=%d no header", rows);
		return RS_EDB;
	}
	*total = store_be64(PQgetvalue(res, header, LOAD_N));
	*known = PQgetvalue(res, header, LOAD_KNOWN)[0] != 0 || *total > 0;
	*n = 0;
	if (nev == 0)
		return 0;

	/* The event rows in the order to return, with their ts in ms: they come sorted by
	 * microseconds (the index's order), so the insertion sort moves only rows of one
	 * millisecond; rows in any other order are sorted too, at quadratic cost. */
	int *order = malloc((size_t) nev * sizeof(*order));
	int64_t *ms = malloc((size_t) rows * sizeof(*ms));
	int rv = 0, m = 0;
	if (order == NULL || ms == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		if (i == header)
			continue;
		if ((rv = store_ts_ms((int64_t) store_be64(PQgetvalue(res, i, LOAD_TS)), &ms[i])) !=
		    0) {
			rs_log_warn("feature.load_bad_ts", "row=%d", i);
			goto out;
		}
		int j = m++;
		while (j > 0 && store_row_before(res, i, ms[i], order[j - 1], ms[order[j - 1]])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	uint32_t k = 0;
	for (int r = 0; r < nev && k < limit; r++) {
		int i = order[r];
		feat_event *e = &out[k++];
		uint64_t bits = store_be64(PQgetvalue(res, i, LOAD_VALUE));
		e->id_hash = feat_event_id_hash(PQgetvalue(res, i, LOAD_EVENT_ID));
		e->item_id = (int64_t) store_be64(PQgetvalue(res, i, LOAD_ITEM_ID));
		e->type = store_be16(PQgetvalue(res, i, LOAD_TYPE));
		e->ts_ms = ms[i];
		memcpy(&e->value, &bits, sizeof(e->value));
	}
	*n = k;
out:
	free(order);
	free(ms);
	return rv;
}

int
feat_store_load_user(feat_store *s, int64_t user_id, uint32_t limit, int64_t deadline_unix_ms,
                     feat_event *out, uint32_t *n, uint64_t *total, int *known)
{
	char uid[24], lim[16];
	const char *params[2] = {uid, lim};
	PGresult *res = NULL;
	int slot, broken = 0, rv;
	int64_t cap = rs_now_ms() + s->st_stmt_ms + 100;

	if (deadline_unix_ms <= 0 || deadline_unix_ms > cap)
		deadline_unix_ms = cap;
	if ((rv = store_acquire(s, deadline_unix_ms, &slot)) != 0)
		return rv;
	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(lim, sizeof(lim), "%u", limit);
	rv = store_query(s->st_slots[slot].ss_conn, LOAD_STMT, NULL, 2, params, 1, deadline_unix_ms,
	                 "feature.load_user", &res, &broken);
	store_release(s, slot, broken, rv == RS_ETIMEDOUT);
	if (rv != 0)
		return rv;
	rv = store_read_history(res, limit, out, n, total, known);
	PQclear(res);
	return rv;
}

/* Takes an idle slot for maintenance if `pred` holds for it; -1 if none. */
static int
store_take_idle(feat_store *s, int want_broken)
{
	int slot = -1;
	pthread_mutex_lock(&s->st_mu);
	for (int i = 0; i < s->st_n && slot < 0; i++) {
		store_slot *sl = &s->st_slots[i];
		int bad = sl->ss_conn == NULL || sl->ss_broken;
		if (!sl->ss_busy && bad == want_broken) {
			sl->ss_busy = 1;
			slot = i;
		}
	}
	pthread_mutex_unlock(&s->st_mu);
	return slot;
}

/* A connection a request gave up on still runs its query: cancel it and read the results
 * away (at most a second), which is cheaper than a new connection for an overloaded server.
 * Returns 1 when the connection is idle and usable again. */
static int
store_recover(PGconn *c)
{
	int64_t deadline = rs_now_ms() + 1000;
	char err[128];
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		return 0;
	if (PQtransactionStatus(c) == PQTRANS_ACTIVE) {
		PGcancel *cn = PQgetCancel(c);
		if (cn != NULL) {
			PQcancel(cn, err, sizeof(err));
			PQfreeCancel(cn);
		}
	}
	for (;;) {
		while (PQisBusy(c)) {
			int left = (int) (deadline - rs_now_ms());
			struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
			if (left <= 0 || (poll(&pfd, 1, left) < 0 && errno != EINTR) ||
			    !PQconsumeInput(c))
				return 0;
		}
		if ((r = PQgetResult(c)) == NULL)
			break;
		PQclear(r);
	}
	return PQtransactionStatus(c) == PQTRANS_IDLE;
}

void
feat_store_maintain(feat_store *s)
{
	double now = rs_mono_ms();
	int slot;
	int wanted = atomic_exchange(&s->st_wanted, 0);

	if (wanted && now < s->st_next_retry_ms)
		s->st_wakes++;
	if (wanted || now >= s->st_next_retry_ms) {
		while ((slot = store_take_idle(s, 1)) >= 0) {
			store_slot *sl = &s->st_slots[slot];
			PGconn *c = NULL;
			if (sl->ss_conn != NULL && sl->ss_abandoned && store_recover(sl->ss_conn)) {
				pthread_mutex_lock(&s->st_mu);
				sl->ss_broken = sl->ss_abandoned = sl->ss_busy = 0;
				store_update_ready_locked(s);
				pthread_cond_broadcast(&s->st_cv);
				pthread_mutex_unlock(&s->st_mu);
				continue;
			}
			if (sl->ss_conn != NULL) {
				/* requests read every slot's ss_conn under st_mu (store_acquire
				 * counts the healthy ones), busy slots included: clear it there */
				PGconn *old = sl->ss_conn;
				pthread_mutex_lock(&s->st_mu);
				sl->ss_conn = NULL;
				pthread_mutex_unlock(&s->st_mu);
				PQfinish(old); /* also abandons a query that ran out of time */
			}
			int rv = store_connect(s, &c);
			pthread_mutex_lock(&s->st_mu);
			sl->ss_conn = c;
			sl->ss_broken = sl->ss_abandoned = 0;
			sl->ss_busy = 0;
			store_update_ready_locked(s);
			pthread_cond_broadcast(&s->st_cv);
			pthread_mutex_unlock(&s->st_mu);
			if (rv != 0) {
				store_retry_later(s);
				break;
			}
			s->st_backoff_ms = STORE_BACKOFF_MIN_MS;
			rs_log_info("feature.pg_connected", "slot=%d", slot);
		}
	}
	if (now - s->st_last_ping_ms >= STORE_PING_MS && (slot = store_take_idle(s, 0)) >= 0) {
		PGresult *res = NULL;
		int broken = 0;
		s->st_last_ping_ms = now;
		if (store_query(s->st_slots[slot].ss_conn, NULL, "select 1", 0, NULL, 0,
		                rs_now_ms() + 1000, "feature.ping", &res, &broken) == 0)
			PQclear(res);
		store_release(s, slot, broken, 0);
		if (broken) {
			/* The server went away: every idle connection to it is dead too. */
			pthread_mutex_lock(&s->st_mu);
			for (int i = 0; i < s->st_n; i++)
				if (!s->st_slots[i].ss_busy)
					s->st_slots[i].ss_broken = 1;
			store_update_ready_locked(s);
			pthread_mutex_unlock(&s->st_mu);
		}
	}
}
