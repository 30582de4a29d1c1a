#include "popular.h"
#include "metrics.h"

#include "rs_err.h"
#include "rs_pg.h"
#include "rs_log.h"
#include "rs_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POPULAR_RETRY_MS 250

/* A catalog change held over lists stored until `until` (monotonic ms). */
typedef struct pop_override {
	int64_t o_id;
	int o_available;
	char *o_title, *o_category;
	double o_price;
	double o_until;
} pop_override;

struct gw_popular {
	pthread_mutex_t p_lock;
	uint8_t *p_data; /* packed CandidatesResponse, NULL while empty */
	size_t p_len;
	double p_stored_mono_ms;
	/* refresher */
	rs_rpc_client *p_client;
	gw_db *p_db; /* asked which cached items were withdrawn while candidate cannot answer */
	int p_refresh_ms;
	int p_k;
	int p_timeout_ms;
	pthread_t p_thread;
	int p_started;
	int p_stop;
	int p_kick; /* fetch now */
	pthread_cond_t p_cond;
	pop_override *p_ovr; /* under p_lock */
	size_t p_novr, p_ovr_cap;
};

static void
ovr_free(pop_override *o)
{
	free(o->o_title);
	free(o->o_category);
}

/* Drops expired overrides; 1 when some are left. Under p_lock. */
static int
ovr_active(gw_popular *p)
{
	double now = rs_mono_ms();
	size_t k = 0;
	for (size_t i = 0; i < p->p_novr; i++) {
		if (p->p_ovr[i].o_until < now)
			ovr_free(&p->p_ovr[i]);
		else
			p->p_ovr[k++] = p->p_ovr[i];
	}
	p->p_novr = k;
	return k > 0;
}

static const pop_override *
ovr_find(const gw_popular *p, int64_t id)
{
	for (size_t i = 0; i < p->p_novr; i++)
		if (p->p_ovr[i].o_id == id)
			return &p->p_ovr[i];
	return NULL;
}

/* The packed list (data, len) with the overrides applied, as a new malloc'd buffer in *out
 * (NULL when nothing had to change). Under p_lock. Returns 0 or RS_ENOMEM. */
static int
ovr_apply(gw_popular *p, const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	if (!ovr_active(p))
		return 0;
	Rs__CandidatesResponse *r = rs__candidates_response__unpack(NULL, len, data);
	if (r == NULL)
		return RS_ENOMEM;
	Rs__Candidate **keep = malloc((r->n_candidates ? r->n_candidates : 1) * sizeof(*keep));
	Rs__Candidate *copies = malloc((r->n_candidates ? r->n_candidates : 1) * sizeof(*copies));
	int rv = RS_ENOMEM, touched = 0;
	size_t n = 0;
	if (keep == NULL || copies == NULL)
		goto out;
	for (size_t i = 0; i < r->n_candidates; i++) {
		const pop_override *o = ovr_find(p, r->candidates[i]->item_id);
		if (o == NULL) {
			keep[n++] = r->candidates[i];
			continue;
		}
		touched = 1;
		if (!o->o_available)
			continue;
		copies[n] = *r->candidates[i]; /* shallow: packed only, never freed as such */
		copies[n].title = o->o_title;
		copies[n].category = o->o_category;
		copies[n].price = o->o_price;
		keep[n] = &copies[n];
		n++;
	}
	rv = 0;
	if (!touched)
		goto out;
	Rs__CandidatesResponse view = *r;
	view.candidates = keep;
	view.n_candidates = n;
	*out_len = rs__candidates_response__get_packed_size(&view);
	if ((*out = malloc(*out_len ? *out_len : 1)) == NULL)
		rv = RS_ENOMEM;
	else
		rs__candidates_response__pack(&view, *out);
out:
	free(keep);
	free(copies);
	rs__candidates_response__free_unpacked(r, NULL);
	return rv;
}

/* Installs buf (malloc'd, taken) as the cached list, with the overrides applied. */
static void
popular_install(gw_popular *p, uint8_t *buf, size_t len)
{
	uint8_t *patched = NULL;
	size_t plen = 0;
	pthread_mutex_lock(&p->p_lock);
	if (ovr_apply(p, buf, len, &patched, &plen) == 0 && patched != NULL) {
		free(buf);
		buf = patched;
		len = plen;
	}
	uint8_t *old = p->p_data;
	p->p_data = buf;
	p->p_len = len;
	p->p_stored_mono_ms = rs_mono_ms();
	pthread_mutex_unlock(&p->p_lock);
	free(old);
	gw_metrics_popular_age(0);
}

int
gw_popular_catalog(gw_popular *p, const gw_popular_patch *c, size_t n, int hold_ms)
{
	int rv = 0;
	pthread_mutex_lock(&p->p_lock);
	for (size_t i = 0; i < n && rv == 0; i++) {
		pop_override o = {
		        .o_id = c[i].item_id,
		        .o_available = c[i].available,
		        .o_title = strdup(c[i].title != NULL ? c[i].title : ""),
		        .o_category = strdup(c[i].category != NULL ? c[i].category : ""),
		        .o_price = c[i].price,
		        .o_until = rs_mono_ms() + hold_ms,
		};
		pop_override *slot = (pop_override *) ovr_find(p, o.o_id);
		if (slot == NULL && p->p_novr == p->p_ovr_cap) {
			size_t cap = p->p_ovr_cap ? 2 * p->p_ovr_cap : 16;
			pop_override *g = realloc(p->p_ovr, cap * sizeof(*g));
			if (g != NULL) {
				p->p_ovr = g;
				p->p_ovr_cap = cap;
			}
		}
		if (o.o_title == NULL || o.o_category == NULL ||
		    (slot == NULL && p->p_novr == p->p_ovr_cap)) {
			ovr_free(&o);
			rv = RS_ENOMEM;
			break;
		}
		if (slot != NULL)
			ovr_free(slot);
		else
			slot = &p->p_ovr[p->p_novr++];
		*slot = o;
	}
	uint8_t *patched = NULL;
	size_t plen = 0;
	if (rv == 0 && p->p_data != NULL &&
	    (rv = ovr_apply(p, p->p_data, p->p_len, &patched, &plen)) == 0 && patched != NULL) {
		free(p->p_data);
		p->p_data = patched;
		p->p_len = plen; /* its age stays: the list is as old as before */
	}
	p->p_kick = 1;
	pthread_cond_signal(&p->p_cond);
	pthread_mutex_unlock(&p->p_lock);
	return rv;
}

int
gw_popular_store(gw_popular *p, const Rs__CandidatesResponse *resp)
{
	size_t n = rs__candidates_response__get_packed_size(resp);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return RS_ENOMEM;
	rs__candidates_response__pack(resp, buf);
	popular_install(p, buf, n);
	return 0;
}

void
gw_popular_offer(gw_popular *p, const Rs__CandidatesResponse *resp, int min_age_ms)
{
	pthread_mutex_lock(&p->p_lock);
	int fresh = p->p_data != NULL && rs_mono_ms() - p->p_stored_mono_ms < min_age_ms;
	pthread_mutex_unlock(&p->p_lock);
	if (!fresh && resp->n_candidates > 0)
		gw_popular_store(p, resp);
}

void
gw_popular_offer_packed(gw_popular *p, const uint8_t *data, size_t len, size_t ncand,
                        int min_age_ms)
{
	pthread_mutex_lock(&p->p_lock);
	int fresh = p->p_data != NULL && rs_mono_ms() - p->p_stored_mono_ms < min_age_ms;
	pthread_mutex_unlock(&p->p_lock);
	if (fresh || ncand == 0)
		return;
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return;
	memcpy(buf, data, len);
	popular_install(p, buf, len);
}

int
gw_popular_load(gw_popular *p, rs_arena *arena, Rs__CandidatesResponse **out, int64_t *age_ms)
{
	uint8_t *copy;
	size_t n;
	double stored;

	pthread_mutex_lock(&p->p_lock);
	if (p->p_data == NULL) {
		pthread_mutex_unlock(&p->p_lock);
		return RS_ENOTFOUND;
	}
	n = p->p_len;
	stored = p->p_stored_mono_ms;
	copy = rs_arena_alloc(arena, n ? n : 1);
	if (copy != NULL)
		memcpy(copy, p->p_data, n);
	pthread_mutex_unlock(&p->p_lock);
	if (copy == NULL)
		return RS_ENOMEM;
	Rs__CandidatesResponse *r = rs__candidates_response__unpack(rs_arena_pb(arena), n, copy);
	if (r == NULL)
		return RS_ENOMEM;
	*out = r;
	if (age_ms != NULL)
		*age_ms = (int64_t) (rs_mono_ms() - stored);
	return 0;
}

int
gw_popular_fetch(gw_popular *p, int timeout_ms, const char *request_id)
{
	rs_arena *a;
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesResponse *resp = NULL;
	Rs__Status st;
	char err[160];
	int rv;

	if (p->p_client == NULL)
		return RS_EUNAVAIL;
	if ((rv = rs_arena_create(&a, 64 * 1024)) != 0)
		return rv;
	h.request_id = (char *) request_id;
	h.deadline_unix_ms = rs_now_ms() + timeout_ms;
	req.header = &h;
	req.user_id = 0;
	req.k = (uint32_t) p->p_k;
	double t0 = rs_mono_ms();
	rv = rs_rpc_request(p->p_client, RS__METHOD__METHOD_CANDIDATES, &req.base,
	                    &rs__candidates_response__descriptor, timeout_ms, a, (void **) &resp,
	                    &st, err, sizeof(err));
	if (rv == 0 && (st != RS__STATUS__STATUS_OK || resp == NULL))
		rv = st == RS__STATUS__STATUS_DEADLINE ? RS_ETIMEDOUT : RS_EUNAVAIL;
	gw_metrics_hop("candidate", rs_mono_ms() - t0,
	               rv == 0              ? NULL
	               : rv == RS_EUNAVAIL  ? "unavailable"
	               : rv == RS_ETIMEDOUT ? "timeout"
	                                    : "error");
	if (rv == 0)
		rv = gw_popular_store(p, resp);
	rs_arena_destroy(a);
	return rv;
}

#define POPULAR_WITHDRAWN_SQL \
	"select item_id from items where item_id = any($1::bigint[]) and not available"

int
gw_popular_check_withdrawn(gw_popular *p)
{
	char *ids = NULL;
	size_t n = 0;
	int rv = 0;

	if (p->p_db == NULL)
		return RS_EINVAL;
	/* the cached ids as an array literal "{1,2,...}" */
	pthread_mutex_lock(&p->p_lock);
	Rs__CandidatesResponse *r =
	        p->p_data != NULL ? rs__candidates_response__unpack(NULL, p->p_len, p->p_data)
	                          : NULL;
	int had = p->p_data != NULL;
	pthread_mutex_unlock(&p->p_lock);
	if (!had)
		return 0;
	if (r == NULL)
		return RS_ENOMEM;
	size_t cap = 3 + r->n_candidates * 21;
	if ((ids = malloc(cap)) == NULL) {
		rs__candidates_response__free_unpacked(r, NULL);
		return RS_ENOMEM;
	}
	ids[n++] = '{';
	for (size_t i = 0; i < r->n_candidates; i++)
		n += (size_t) snprintf(ids + n, cap - n, "%s%lld", i > 0 ? "," : "",
		                       (long long) r->candidates[i]->item_id);
	snprintf(ids + n, cap - n, "}");
	rs__candidates_response__free_unpacked(r, NULL);
	PGresult *res =
	        gw_db_query(p->p_db, POPULAR_WITHDRAWN_SQL, 1, (const char *const[]){ids}, &rv);
	free(ids);
	if (res == NULL)
		return rv;
	if ((rv = rs_pg_check(NULL, res, PGRES_TUPLES_OK, "popular.withdrawn")) != 0) {
		PQclear(res);
		return rv;
	}
	int nw = PQntuples(res);
	gw_popular_patch *gone = malloc((size_t) (nw > 0 ? nw : 1) * sizeof(*gone));
	if (gone == NULL) {
		PQclear(res);
		return RS_ENOMEM;
	}
	for (int i = 0; i < nw; i++)
		gone[i] =
		        (gw_popular_patch){strtoll(PQgetvalue(res, i, 0), NULL, 10), 0, "", "", 0};
	PQclear(res);
	rv = nw > 0 ? gw_popular_catalog(p, gone, (size_t) nw, p->p_refresh_ms) : 0;
	free(gone);
	if (rv == 0 && nw > 0)
		rs_log_info("gw.popular_withdrawn", "items=%d", nw);
	return rv != 0 ? rv : nw;
}

static void *
popular_main(void *arg)
{
	gw_popular *p = arg;
	int last_rv = 1;

	pthread_mutex_lock(&p->p_lock);
	while (!p->p_stop) {
		pthread_mutex_unlock(&p->p_lock);
		int rv = gw_popular_fetch(p, p->p_timeout_ms, "popular-refresh");
		/* the list can no longer follow the catalog through the candidate service: ask the
		 * database which of its items were withdrawn since */
		if (rv != 0 && p->p_db != NULL)
			(void) gw_popular_check_withdrawn(p);
		if (rv != last_rv) {
			if (rv == 0)
				rs_log_info("gw.popular_refreshed", "ok=1");
			else
				rs_log_warn("gw.popular_refresh_failed", "err=\"%s\"",
				            rs_strerror(rv));
			last_rv = rv;
		}
		pthread_mutex_lock(&p->p_lock);
		if (p->p_data != NULL)
			gw_metrics_popular_age(rs_mono_ms() - p->p_stored_mono_ms);
		int wait_ms = p->p_data == NULL && p->p_refresh_ms > POPULAR_RETRY_MS
		                      ? POPULAR_RETRY_MS
		                      : p->p_refresh_ms;
		struct timespec ts = rs_deadline_in(CLOCK_MONOTONIC, wait_ms);
		while (!p->p_stop && !p->p_kick &&
		       pthread_cond_timedwait(&p->p_cond, &p->p_lock, &ts) != ETIMEDOUT)
			;
		p->p_kick = 0;
	}
	pthread_mutex_unlock(&p->p_lock);
	return NULL;
}

int
gw_popular_create(gw_popular **out, rs_rpc_client *candidate, gw_db *db, int refresh_ms, int k,
                  int timeout_ms)
{
	gw_popular *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (p == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&p->p_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->p_cond, &ca);
	pthread_condattr_destroy(&ca);
	p->p_client = candidate;
	p->p_db = db;
	p->p_refresh_ms = refresh_ms;
	p->p_k = k;
	p->p_timeout_ms = timeout_ms;
	if (candidate != NULL) {
		if (pthread_create(&p->p_thread, NULL, popular_main, p) != 0) {
			gw_popular_destroy(p);
			return RS_ENOMEM;
		}
		p->p_started = 1;
	}
	*out = p;
	return 0;
}

void
gw_popular_destroy(gw_popular *p)
{
	if (p == NULL)
		return;
	if (p->p_started) {
		pthread_mutex_lock(&p->p_lock);
		p->p_stop = 1;
		pthread_cond_signal(&p->p_cond);
		pthread_mutex_unlock(&p->p_lock);
		pthread_join(p->p_thread, NULL);
	}
	pthread_cond_destroy(&p->p_cond);
	pthread_mutex_destroy(&p->p_lock);
	for (size_t i = 0; i < p->p_novr; i++)
		ovr_free(&p->p_ovr[i]);
	free(p->p_ovr);
	free(p->p_data);
	free(p);
}
