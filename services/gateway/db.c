#include "db.h"

#include "rs_err.h"
#include "rs_pg.h"
#include "rs_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_db {
	char *d_dsn;
	char d_timeout[16]; /* statement_timeout in ms, as text */
	int d_timeout_ms;
	int d_size;
	pthread_mutex_t d_mu;
	pthread_cond_t d_cv;
	PGconn **d_idle; /* open connections nobody holds */
	int d_nidle;
	int d_out; /* connections handed out (or being opened) */
};

int
gw_db_open(gw_db **out, const char *dsn, int size, int timeout_ms)
{
	if (dsn == NULL || size < 1 || timeout_ms < 1)
		return RS_EINVAL;
	gw_db *d = calloc(1, sizeof(*d));
	size_t n = strlen(dsn) + 32;
	if (d == NULL || (d->d_dsn = malloc(n)) == NULL ||
	    (d->d_idle = calloc((size_t) size, sizeof(*d->d_idle))) == NULL) {
		if (d != NULL)
			free(d->d_dsn);
		free(d);
		return RS_ENOMEM;
	}
	/* A connect attempt must not hold an HTTP thread long (keyword DSNs only). */
	if (strstr(dsn, "connect_timeout") == NULL && strstr(dsn, "://") == NULL)
		snprintf(d->d_dsn, n, "%s connect_timeout=2", dsn);
	else
		snprintf(d->d_dsn, n, "%s", dsn);
	snprintf(d->d_timeout, sizeof(d->d_timeout), "%d", timeout_ms);
	d->d_timeout_ms = timeout_ms;
	d->d_size = size;
	pthread_mutex_init(&d->d_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->d_cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = d;
	return 0;
}

void
gw_db_close(gw_db *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < d->d_nidle; i++)
		PQfinish(d->d_idle[i]);
	pthread_cond_destroy(&d->d_cv);
	pthread_mutex_destroy(&d->d_mu);
	free(d->d_idle);
	free(d->d_dsn);
	free(d);
}

static int
db_connect(gw_db *d, PGconn **out)
{
	PGconn *c;
	if (rs_pg_connect(d->d_dsn, &c) != 0)
		return RS_EUNAVAIL;
	/* No JIT: the gateway's statements are short, and the experiment report's plan is
	 * costed high enough to be compiled for ~1 s more than it runs (1.6 s -> 0.5 s on the
	 * simulation's 1,000-customer week). */
	if (rs_pg_exec(c, "select set_config('statement_timeout', $1, false)", 1,
	               (const char *const[]){d->d_timeout}, PGRES_TUPLES_OK,
	               "gw.db.statement_timeout") != 0 ||
	    rs_pg_exec(c, "set jit = off", 0, NULL, PGRES_COMMAND_OK, "gw.db.jit") != 0) {
		PQfinish(c);
		return RS_EUNAVAIL;
	}
	*out = c;
	return 0;
}

int
gw_db_acquire(gw_db *d, PGconn **out)
{
	struct timespec until = rs_deadline_in(CLOCK_MONOTONIC, d->d_timeout_ms);
	pthread_mutex_lock(&d->d_mu);
	while (d->d_nidle == 0 && d->d_out >= d->d_size) {
		if (pthread_cond_timedwait(&d->d_cv, &d->d_mu, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&d->d_mu);
			return RS_EUNAVAIL;
		}
	}
	d->d_out++;
	if (d->d_nidle > 0) {
		*out = d->d_idle[--d->d_nidle];
		pthread_mutex_unlock(&d->d_mu);
		return 0;
	}
	pthread_mutex_unlock(&d->d_mu);
	int rv = db_connect(d, out); /* outside the lock: connecting may take a while */
	if (rv != 0) {
		pthread_mutex_lock(&d->d_mu);
		d->d_out--;
		pthread_cond_signal(&d->d_cv);
		pthread_mutex_unlock(&d->d_mu);
	}
	return rv;
}

void
gw_db_release(gw_db *d, PGconn *c, int broken)
{
	if (c != NULL && (broken || !rs_pg_reusable(c))) {
		PQfinish(c);
		c = NULL;
	}
	pthread_mutex_lock(&d->d_mu);
	d->d_out--;
	if (c != NULL)
		d->d_idle[d->d_nidle++] = c;
	pthread_cond_signal(&d->d_cv);
	pthread_mutex_unlock(&d->d_mu);
}

PGresult *
gw_db_query(gw_db *d, const char *sql, int nparams, const char *const *params, int *rv)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGconn *c;
		if ((*rv = gw_db_acquire(d, &c)) != 0)
			return NULL;
		PGresult *res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
		if (res != NULL && rs_pg_reusable(c)) {
			gw_db_release(d, c, 0);
			*rv = 0;
			return res;
		}
		PQclear(res);
		gw_db_release(d, c, 1);
	}
	*rv = RS_EUNAVAIL;
	return NULL;
}
