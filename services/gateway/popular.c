#include "popular.h"
#include "metrics.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POPULAR_RETRY_MS 250

struct gw_popular {
	pthread_mutex_t p_lock;
	uint8_t *p_data; /* packed CandidatesResponse, NULL while empty */
	size_t p_len;
	double p_stored_mono_ms;
	/* refresher */
	rs_rpc_client *p_client;
	int p_refresh_ms;
	int p_k;
	int p_timeout_ms;
	pthread_t p_thread;
	int p_started;
	int p_stop;
	pthread_cond_t p_cond;
};

int
gw_popular_store(gw_popular *p, const Rs__CandidatesResponse *resp)
{
	size_t n = rs__candidates_response__get_packed_size(resp);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return RS_ENOMEM;
	rs__candidates_response__pack(resp, buf);
	pthread_mutex_lock(&p->p_lock);
	uint8_t *old = p->p_data;
	p->p_data = buf;
	p->p_len = n;
	p->p_stored_mono_ms = rs_mono_ms();
	pthread_mutex_unlock(&p->p_lock);
	free(old);
	gw_metrics_popular_age(0);
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
	pthread_mutex_lock(&p->p_lock);
	uint8_t *old = p->p_data;
	p->p_data = buf;
	p->p_len = len;
	p->p_stored_mono_ms = rs_mono_ms();
	pthread_mutex_unlock(&p->p_lock);
	free(old);
	gw_metrics_popular_age(0);
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

static void *
popular_main(void *arg)
{
	gw_popular *p = arg;
	int last_rv = 1;

	pthread_mutex_lock(&p->p_lock);
	while (!p->p_stop) {
		pthread_mutex_unlock(&p->p_lock);
		int rv = gw_popular_fetch(p, p->p_timeout_ms, "popular-refresh");
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
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!p->p_stop &&
		       pthread_cond_timedwait(&p->p_cond, &p->p_lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->p_lock);
	return NULL;
}

int
gw_popular_create(gw_popular **out, rs_rpc_client *candidate, int refresh_ms, int k, int timeout_ms)
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
	free(p->p_data);
	free(p);
}
