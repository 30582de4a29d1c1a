#include "authstore.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_authstore {
	pthread_rwlock_t st_lock; /* guards the three arrays below */
	gw_apikey *st_keys;       /* sorted by hash */
	size_t st_nkeys;
	gw_revoked *st_revoked; /* sorted by id: the database's rows plus st_local */
	size_t st_nrevoked;
	gw_revoked *st_local; /* revoked by this process (kept until they expire) */
	size_t st_nlocal;
	/* the refresher */
	pthread_mutex_t st_mu;
	pthread_cond_t st_cv;
	pthread_t st_thread;
	int st_started;
	int st_stop;
	gw_db *st_db;
	int st_period_ms;
	int st_state; /* last reload: -1 none yet, 0 failed, 1 ok (logged on change) */
	size_t st_logged_keys, st_logged_revoked;
};

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(((const gw_apikey *) a)->k_hash, ((const gw_apikey *) b)->k_hash,
	              GW_APIKEY_HASHBYTES);
}

static int
rev_cmp(const void *a, const void *b)
{
	return memcmp(((const gw_revoked *) a)->r_id, ((const gw_revoked *) b)->r_id,
	              GW_SESSION_IDBYTES);
}

int
gw_authstore_create(gw_authstore **out)
{
	gw_authstore *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return RS_ENOMEM;
	/* Writers (a reload per period, a logout) must not wait behind a stream of readers. */
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&st->st_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&st->st_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->st_cv, &ca);
	pthread_condattr_destroy(&ca);
	st->st_state = -1;
	*out = st;
	return 0;
}

void
gw_authstore_destroy(gw_authstore *st)
{
	if (st == NULL)
		return;
	if (st->st_started) {
		pthread_mutex_lock(&st->st_mu);
		st->st_stop = 1;
		pthread_cond_signal(&st->st_cv);
		pthread_mutex_unlock(&st->st_mu);
		pthread_join(st->st_thread, NULL);
	}
	pthread_cond_destroy(&st->st_cv);
	pthread_mutex_destroy(&st->st_mu);
	pthread_rwlock_destroy(&st->st_lock);
	sodium_memzero(st->st_keys, st->st_nkeys * sizeof(*st->st_keys));
	free(st->st_keys);
	free(st->st_revoked);
	free(st->st_local);
	free(st);
}

int
gw_authstore_key_find(gw_authstore *st, const unsigned char hash[GW_APIKEY_HASHBYTES], char *name,
                      size_t n)
{
	gw_apikey probe;
	memcpy(probe.k_hash, hash, GW_APIKEY_HASHBYTES);
	pthread_rwlock_rdlock(&st->st_lock);
	const gw_apikey *k = st->st_nkeys > 0 ? bsearch(&probe, st->st_keys, st->st_nkeys,
	                                                sizeof(*st->st_keys), key_cmp)
	                                      : NULL;
	if (k != NULL && name != NULL && n > 0)
		snprintf(name, n, "%s", k->k_name);
	pthread_rwlock_unlock(&st->st_lock);
	return k != NULL;
}

int
gw_authstore_is_revoked(gw_authstore *st, const unsigned char id[GW_SESSION_IDBYTES])
{
	gw_revoked probe;
	memcpy(probe.r_id, id, GW_SESSION_IDBYTES);
	pthread_rwlock_rdlock(&st->st_lock);
	int found = st->st_nrevoked > 0 && bsearch(&probe, st->st_revoked, st->st_nrevoked,
	                                           sizeof(*st->st_revoked), rev_cmp) != NULL;
	pthread_rwlock_unlock(&st->st_lock);
	return found;
}

int
gw_authstore_keys_replace(gw_authstore *st, const gw_apikey *keys, size_t n)
{
	gw_apikey *nk = NULL;
	if (n > 0) {
		if ((nk = malloc(n * sizeof(*nk))) == NULL)
			return RS_ENOMEM;
		memcpy(nk, keys, n * sizeof(*nk));
		qsort(nk, n, sizeof(*nk), key_cmp);
	}
	pthread_rwlock_wrlock(&st->st_lock);
	gw_apikey *old = st->st_keys;
	size_t nold = st->st_nkeys;
	st->st_keys = nk;
	st->st_nkeys = n;
	pthread_rwlock_unlock(&st->st_lock);
	if (old != NULL)
		sodium_memzero(old, nold * sizeof(*old));
	free(old);
	return 0;
}

/* Sorted, without duplicates (the later expiry wins). Returns the new count. */
static size_t
rev_sort_unique(gw_revoked *a, size_t n)
{
	size_t w = 0;
	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), rev_cmp);
	for (size_t i = 1; i < n; i++) {
		if (rev_cmp(&a[w], &a[i]) == 0) {
			if (a[i].r_expires_ms > a[w].r_expires_ms)
				a[w].r_expires_ms = a[i].r_expires_ms;
		} else {
			a[++w] = a[i];
		}
	}
	return w + 1;
}

int
gw_authstore_revoked_replace(gw_authstore *st, const gw_revoked *rows, size_t n, int64_t now_ms)
{
	pthread_rwlock_wrlock(&st->st_lock);
	/* Own revocations stay until they expire or the database has them. */
	gw_revoked *db = n + st->st_nlocal > 0 ? malloc((n + st->st_nlocal) * sizeof(*db)) : NULL;
	if (n + st->st_nlocal > 0 && db == NULL) {
		pthread_rwlock_unlock(&st->st_lock);
		return RS_ENOMEM;
	}
	if (n > 0)
		memcpy(db, rows, n * sizeof(*db));
	size_t nd = rev_sort_unique(db, n), keep = 0;
	for (size_t i = 0; i < st->st_nlocal; i++) {
		gw_revoked *l = &st->st_local[i];
		if (l->r_expires_ms <= now_ms ||
		    (nd > 0 && bsearch(l, db, nd, sizeof(*db), rev_cmp) != NULL))
			continue;
		st->st_local[keep++] = *l;
	}
	st->st_nlocal = keep;
	if (keep > 0) /* (memcpy with NULL, even of 0 bytes, is undefined) */
		memcpy(db + nd, st->st_local, keep * sizeof(*db));
	nd = rev_sort_unique(db, nd + keep);
	free(st->st_revoked);
	st->st_revoked = db;
	st->st_nrevoked = nd;
	pthread_rwlock_unlock(&st->st_lock);
	return 0;
}

int
gw_authstore_revoke(gw_authstore *st, const unsigned char id[GW_SESSION_IDBYTES],
                    int64_t expires_ms)
{
	gw_revoked r;
	memcpy(r.r_id, id, GW_SESSION_IDBYTES);
	r.r_expires_ms = expires_ms;
	pthread_rwlock_wrlock(&st->st_lock);
	gw_revoked *all = malloc((st->st_nrevoked + 1) * sizeof(*all));
	gw_revoked *local = all != NULL && st->st_nlocal < GW_AUTHSTORE_LOCAL_MAX
	                            ? realloc(st->st_local, (st->st_nlocal + 1) * sizeof(*local))
	                            : st->st_local;
	if (all == NULL || local == NULL) {
		pthread_rwlock_unlock(&st->st_lock);
		free(all);
		return RS_ENOMEM;
	}
	st->st_local = local;
	if (st->st_nlocal < GW_AUTHSTORE_LOCAL_MAX) {
		local[st->st_nlocal++] = r;
	} else { /* full: the entry that expires first makes room */
		size_t first = 0;
		for (size_t i = 1; i < st->st_nlocal; i++)
			if (local[i].r_expires_ms < local[first].r_expires_ms)
				first = i;
		local[first] = r;
	}
	if (st->st_nrevoked > 0)
		memcpy(all, st->st_revoked, st->st_nrevoked * sizeof(*all));
	all[st->st_nrevoked] = r;
	size_t n = rev_sort_unique(all, st->st_nrevoked + 1);
	free(st->st_revoked);
	st->st_revoked = all;
	st->st_nrevoked = n;
	pthread_rwlock_unlock(&st->st_lock);
	return 0;
}

void
gw_authstore_counts(gw_authstore *st, size_t *keys, size_t *revoked)
{
	pthread_rwlock_rdlock(&st->st_lock);
	*keys = st->st_nkeys;
	*revoked = st->st_nrevoked;
	pthread_rwlock_unlock(&st->st_lock);
}

/* Runs sql; its rows, or NULL with *rv (RS_EUNAVAIL: no database, RS_EDB: the query failed)
 * and *why set. */
static PGresult *
store_query(gw_db *db, const char *sql, int *rv, const char **why)
{
	PGresult *res = gw_db_query(db, sql, 0, NULL, rv);
	if (res == NULL) {
		*rv = RS_EUNAVAIL;
		*why = "database unavailable";
		return NULL;
	}
	if (rs_pg_result(NULL, res, PGRES_TUPLES_OK) != 0) {
		*rv = RS_EDB;
		*why = "query failed (are the migrations applied?)";
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Logs a failed reload once (until one works) and a working one when it recovers or the
 * sizes change. Caller holds st_mu. */
static void
store_log(gw_authstore *st, int ok, const char *why)
{
	size_t nk, nr;
	gw_authstore_counts(st, &nk, &nr);
	if (!ok && st->st_state != 0)
		rs_log_warn("gw.auth_refresh_failed", "err=\"%s\" keys=%zu revoked=%zu", why, nk,
		            nr);
	else if (ok &&
	         (st->st_state != 1 || nk != st->st_logged_keys || nr != st->st_logged_revoked))
		rs_log_info("gw.auth_refreshed", "keys=%zu revoked=%zu", nk, nr);
	st->st_state = ok;
	if (ok) {
		st->st_logged_keys = nk;
		st->st_logged_revoked = nr;
	}
}

/* Hex column col of row i into out (exactly n bytes). 0 or -1. */
static int
store_hex(PGresult *res, int i, int col, unsigned char *out, size_t n)
{
	const char *hex = PQgetvalue(res, i, col);
	size_t len = 0;
	return sodium_hex2bin(out, n, hex, strlen(hex), NULL, &len, NULL) == 0 && len == n ? 0 : -1;
}

int
gw_authstore_load(gw_authstore *st, gw_db *db)
{
	const char *why = NULL;
	gw_apikey *keys = NULL;
	gw_revoked *rows = NULL;
	size_t nk = 0, nr = 0;
	PGresult *rres = NULL;
	int rv;

	PGresult *kres = store_query(db,
	                             "select encode(key_hash, 'hex'), name from api_keys "
	                             "where revoked_at is null",
	                             &rv, &why);
	if (kres == NULL)
		goto out;
	rres = store_query(db,
	                   "select encode(session_id, 'hex'), "
	                   "(extract(epoch from expires_at) * 1000)::bigint "
	                   "from sessions_revoked where expires_at > now()",
	                   &rv, &why);
	if (rres == NULL)
		goto out;
	nk = (size_t) PQntuples(kres);
	nr = (size_t) PQntuples(rres);
	rv = RS_ENOMEM;
	why = "out of memory";
	if ((nk > 0 && (keys = calloc(nk, sizeof(*keys))) == NULL) ||
	    (nr > 0 && (rows = calloc(nr, sizeof(*rows))) == NULL))
		goto out;
	rv = RS_ECORRUPT;
	why = "a stored hash or session id has the wrong length";
	for (size_t i = 0; i < nk; i++) {
		if (store_hex(kres, (int) i, 0, keys[i].k_hash, GW_APIKEY_HASHBYTES) != 0)
			goto out;
		snprintf(keys[i].k_name, sizeof(keys[i].k_name), "%s",
		         PQgetvalue(kres, (int) i, 1));
	}
	for (size_t i = 0; i < nr; i++) {
		if (store_hex(rres, (int) i, 0, rows[i].r_id, GW_SESSION_IDBYTES) != 0)
			goto out;
		rows[i].r_expires_ms = strtoll(PQgetvalue(rres, (int) i, 1), NULL, 10);
	}
	why = "out of memory";
	if ((rv = gw_authstore_keys_replace(st, keys, nk)) != 0 ||
	    (rv = gw_authstore_revoked_replace(st, rows, nr, rs_now_ms())) != 0)
		goto out;
out:
	pthread_mutex_lock(&st->st_mu);
	store_log(st, rv == 0, why);
	pthread_mutex_unlock(&st->st_mu);
	PQclear(kres);
	PQclear(rres);
	if (keys != NULL)
		sodium_memzero(keys, nk * sizeof(*keys));
	free(keys);
	free(rows);
	return rv;
}

static void *
store_run(void *arg)
{
	gw_authstore *st = arg;
	pthread_mutex_lock(&st->st_mu);
	while (!st->st_stop) {
		struct timespec until = rs_deadline_in(CLOCK_MONOTONIC, st->st_period_ms);
		while (!st->st_stop &&
		       pthread_cond_timedwait(&st->st_cv, &st->st_mu, &until) != ETIMEDOUT)
			;
		if (st->st_stop)
			break;
		pthread_mutex_unlock(&st->st_mu);
		gw_authstore_load(st, st->st_db);
		pthread_mutex_lock(&st->st_mu);
	}
	pthread_mutex_unlock(&st->st_mu);
	return NULL;
}

int
gw_authstore_start(gw_authstore *st, gw_db *db, int period_ms)
{
	if (st->st_started || db == NULL || period_ms < 1)
		return RS_EINVAL;
	st->st_db = db;
	st->st_period_ms = period_ms;
	if (pthread_create(&st->st_thread, NULL, store_run, st) != 0)
		return RS_EIO;
	st->st_started = 1;
	return 0;
}
