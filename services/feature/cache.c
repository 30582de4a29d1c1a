#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_hash.h"
#include "rs_time.h"

/* Events seen on the stream recently, for loads that were in flight when they arrived. A load
 * takes at most a query's duration, so a few thousand events of slack is plenty. */
#define CACHE_RING 4096

typedef struct cache_user {
	int64_t cu_user;
	feat_event *cu_ev; /* newest first, cu_n used of cu_cap (cu_cap <= cu_window) */
	uint32_t cu_n, cu_cap;
	/* the entry holds the newest min(cu_total, cu_window) events of the user: what the load
	 * asked for (a request for more loads again), or max_events when it got all there were */
	uint32_t cu_window;
	uint64_t cu_total;
	int cu_known;
	uint64_t cu_epoch;
	double cu_loaded_ms; /* monotonic */
	uint64_t cu_gen;     /* unique per state of the history: new on a load and on a change */
	/* the embedding last folded from the newest cu_emb_n events of history cu_emb_gen with
	 * version cu_emb_version (feat_cache_emb_*): cu_emb_rv (the items the version knew) and,
	 * when > 0, cu_emb_f floats */
	uint64_t cu_emb_gen;
	uint32_t cu_emb_n, cu_emb_f;
	int cu_emb_rv;
	char *cu_emb_version;
	float *cu_emb;
	struct cache_user *cu_hnext, *cu_prev, *cu_next;
} cache_user;

typedef struct cache_ring_ev {
	int64_t user_id;
	feat_event ev;
} cache_ring_ev;

struct feat_cache {
	pthread_mutex_t c_mu;
	size_t c_max_users;
	uint32_t c_max_events;
	cache_user **c_buckets;
	size_t c_nbuckets; /* power of two */
	size_t c_count;
	cache_user *c_head, *c_tail; /* LRU: head most recent */
	cache_ring_ev *c_ring;
	uint64_t c_ring_next; /* total events ever written to the ring */
	uint64_t c_gen;       /* the last history generation handed out */
};

uint64_t
feat_event_id_hash(const char *event_id)
{
	if (event_id == NULL || *event_id == '\0')
		return 0;
	uint64_t h = rs_fnv1a64_str(event_id);
	return h != 0 ? h : 1;
}

static size_t
cache_bucket(const feat_cache *c, int64_t user)
{
	uint64_t x = (uint64_t) user * 0x9E3779B97F4A7C15ULL;
	return (size_t) (x >> 17) & (c->c_nbuckets - 1);
}

int
feat_cache_create(feat_cache **out, size_t max_users, uint32_t max_events)
{
	feat_cache *c;
	size_t nb = 16;

	if (max_users == 0 || max_events == 0)
		return RS_EINVAL;
	while (nb < max_users && nb < ((size_t) 1 << 30))
		nb <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RS_ENOMEM;
	c->c_buckets = calloc(nb, sizeof(*c->c_buckets));
	c->c_ring = calloc(CACHE_RING, sizeof(*c->c_ring));
	if (c->c_buckets == NULL || c->c_ring == NULL) {
		free(c->c_buckets);
		free(c->c_ring);
		free(c);
		return RS_ENOMEM;
	}
	c->c_nbuckets = nb;
	c->c_max_users = max_users;
	c->c_max_events = max_events;
	pthread_mutex_init(&c->c_mu, NULL);
	*out = c;
	return 0;
}

void
feat_cache_destroy(feat_cache *c)
{
	if (c == NULL)
		return;
	for (cache_user *u = c->c_head, *next; u != NULL; u = next) {
		next = u->cu_next;
		free(u->cu_ev);
		free(u->cu_emb);
		free(u->cu_emb_version);
		free(u);
	}
	pthread_mutex_destroy(&c->c_mu);
	free(c->c_buckets);
	free(c->c_ring);
	free(c);
}

static cache_user *
cache_find(feat_cache *c, int64_t user)
{
	for (cache_user *u = c->c_buckets[cache_bucket(c, user)]; u != NULL; u = u->cu_hnext)
		if (u->cu_user == user)
			return u;
	return NULL;
}

static void
lru_unlink(feat_cache *c, cache_user *u)
{
	if (u->cu_prev != NULL)
		u->cu_prev->cu_next = u->cu_next;
	else
		c->c_head = u->cu_next;
	if (u->cu_next != NULL)
		u->cu_next->cu_prev = u->cu_prev;
	else
		c->c_tail = u->cu_prev;
	u->cu_prev = u->cu_next = NULL;
}

static void
lru_push_front(feat_cache *c, cache_user *u)
{
	u->cu_prev = NULL;
	u->cu_next = c->c_head;
	if (c->c_head != NULL)
		c->c_head->cu_prev = u;
	c->c_head = u;
	if (c->c_tail == NULL)
		c->c_tail = u;
}

static void
cache_remove(feat_cache *c, cache_user *u)
{
	cache_user **pp = &c->c_buckets[cache_bucket(c, u->cu_user)];
	while (*pp != u)
		pp = &(*pp)->cu_hnext;
	*pp = u->cu_hnext;
	lru_unlink(c, u);
	c->c_count--;
	free(u->cu_ev);
	free(u->cu_emb);
	free(u->cu_emb_version);
	free(u);
}

/* Inserts e into u's history (newest first) unless its id is already there. Returns 1 if the
 * entry changed. An event older than a full window only counts towards the total (the events
 * between it and the window are in PostgreSQL, not here). */
static int
user_insert(cache_user *u, const feat_event *e)
{
	uint32_t pos;

	if (e->id_hash != 0)
		for (uint32_t i = 0; i < u->cu_n; i++)
			if (u->cu_ev[i].id_hash == e->id_hash)
				return 0;
	for (pos = 0; pos < u->cu_n && u->cu_ev[pos].ts_ms > e->ts_ms; pos++)
		;
	if (pos >= u->cu_window) {
		u->cu_total++; /* older than the whole bounded window: it only counts */
		return 1;
	}
	if (u->cu_n == u->cu_cap && u->cu_cap < u->cu_window) {
		/* Memory follows the actual history: grow by half, up to the window. */
		uint32_t cap = u->cu_cap + u->cu_cap / 2 + 4;
		if (cap > u->cu_window)
			cap = u->cu_window;
		feat_event *grown = realloc(u->cu_ev, (size_t) cap * sizeof(feat_event));
		if (grown == NULL) {
			u->cu_total++; /* out of memory: the history misses it, the count does not
			                */
			return 1;
		}
		u->cu_ev = grown;
		u->cu_cap = cap;
	}
	uint32_t keep = u->cu_n < u->cu_cap ? u->cu_n : u->cu_cap - 1;
	memmove(&u->cu_ev[pos + 1], &u->cu_ev[pos], (keep - pos) * sizeof(feat_event));
	u->cu_ev[pos] = *e;
	u->cu_n = keep + 1;
	u->cu_total++;
	u->cu_known = 1;
	return 1;
}

int
feat_cache_get(feat_cache *c, int64_t user_id, uint64_t epoch, int ttl_ms, uint32_t max_n,
               feat_event *out, uint32_t *n, uint64_t *total, int *known, uint64_t *gen)
{
	int rv = RS_ENOTFOUND;

	pthread_mutex_lock(&c->c_mu);
	cache_user *u = cache_find(c, user_id);
	if (max_n > c->c_max_events)
		max_n = c->c_max_events; /* the most any entry holds */
	if (u != NULL && u->cu_epoch == epoch && max_n <= u->cu_window &&
	    (ttl_ms <= 0 || rs_mono_ms() - u->cu_loaded_ms < (double) ttl_ms)) {
		uint32_t k = u->cu_n < max_n ? u->cu_n : max_n;
		if (k > 0)
			memcpy(out, u->cu_ev, k * sizeof(feat_event));
		*n = k;
		*total = u->cu_total;
		*known = u->cu_known;
		if (gen != NULL)
			*gen = u->cu_gen;
		lru_unlink(c, u);
		lru_push_front(c, u);
		rv = 0;
	}
	pthread_mutex_unlock(&c->c_mu);
	return rv;
}

int
feat_cache_put(feat_cache *c, int64_t user_id, uint64_t epoch, const feat_event *ev, uint32_t n,
               uint64_t total, int known, uint32_t limit, uint64_t *gen)
{
	uint32_t window = limit < c->c_max_events ? limit : c->c_max_events;
	if (n > window)
		n = window;
	if (n < window || (uint64_t) n >= total) /* all there were: any request can be served */
		window = c->c_max_events;
	/* Room for a few stream events before the first growth. */
	uint32_t cap = n + 4 < window ? n + 4 : window;
	feat_event *copy = malloc((size_t) cap * sizeof(feat_event));
	if (copy == NULL)
		return RS_ENOMEM;
	if (n > 0)
		memcpy(copy, ev, n * sizeof(feat_event));

	pthread_mutex_lock(&c->c_mu);
	cache_user *u = cache_find(c, user_id);
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL) {
			pthread_mutex_unlock(&c->c_mu);
			free(copy);
			return RS_ENOMEM;
		}
		u->cu_user = user_id;
		size_t b = cache_bucket(c, user_id);
		u->cu_hnext = c->c_buckets[b];
		c->c_buckets[b] = u;
		c->c_count++;
	} else {
		lru_unlink(c, u);
		free(u->cu_ev);
	}
	u->cu_ev = copy;
	u->cu_cap = cap;
	u->cu_window = window;
	u->cu_n = n;
	u->cu_total = total;
	u->cu_known = known;
	u->cu_epoch = epoch;
	u->cu_loaded_ms = rs_mono_ms();
	u->cu_gen = ++c->c_gen;
	lru_push_front(c, u);

	uint64_t first = c->c_ring_next > CACHE_RING ? c->c_ring_next - CACHE_RING : 0;
	int merged = 0;
	for (uint64_t i = first; i < c->c_ring_next; i++) {
		const cache_ring_ev *r = &c->c_ring[i % CACHE_RING];
		/* Without an id a stream event cannot be told from a loaded one: the load wins. */
		if (r->user_id == user_id && r->ev.id_hash != 0)
			merged |= user_insert(u, &r->ev);
	}
	if (merged) /* the entry is no longer what the caller loaded */
		u->cu_gen = ++c->c_gen;
	if (gen != NULL)
		*gen = merged ? 0 : u->cu_gen;
	while (c->c_count > c->c_max_users && c->c_tail != NULL && c->c_tail != u)
		cache_remove(c, c->c_tail);
	pthread_mutex_unlock(&c->c_mu);
	return 0;
}

int
feat_cache_apply(feat_cache *c, int64_t user_id, const feat_event *e)
{
	int changed = 0;

	pthread_mutex_lock(&c->c_mu);
	cache_ring_ev *r = &c->c_ring[c->c_ring_next % CACHE_RING];
	r->user_id = user_id;
	r->ev = *e;
	c->c_ring_next++;
	cache_user *u = cache_find(c, user_id);
	if (u != NULL && (changed = user_insert(u, e)) != 0)
		u->cu_gen = ++c->c_gen;
	pthread_mutex_unlock(&c->c_mu);
	return changed;
}

int
feat_cache_emb_get(feat_cache *c, int64_t user_id, uint64_t gen, const char *version, uint32_t n,
                   uint32_t f, float *out, int *rv)
{
	int found = RS_ENOTFOUND;

	pthread_mutex_lock(&c->c_mu);
	cache_user *u = cache_find(c, user_id);
	if (u != NULL && u->cu_gen == gen && u->cu_emb_gen == gen && u->cu_emb_n == n &&
	    u->cu_emb_version != NULL && strcmp(u->cu_emb_version, version) == 0 &&
	    (u->cu_emb_rv <= 0 || u->cu_emb_f == f)) {
		if (u->cu_emb_rv > 0)
			memcpy(out, u->cu_emb, f * sizeof(float));
		*rv = u->cu_emb_rv;
		found = 0;
	}
	pthread_mutex_unlock(&c->c_mu);
	return found;
}

int
feat_cache_emb_put(feat_cache *c, int64_t user_id, uint64_t gen, const char *version, uint32_t n,
                   uint32_t f, const float *emb, int rv)
{
	int ret = 0;

	pthread_mutex_lock(&c->c_mu);
	cache_user *u = cache_find(c, user_id);
	if (u == NULL || u->cu_gen != gen)
		goto out; /* the history changed meanwhile: the embedding is of an older one */
	if (u->cu_emb_version == NULL || strcmp(u->cu_emb_version, version) != 0) {
		char *v = strdup(version);
		if (v == NULL) {
			ret = RS_ENOMEM;
			goto out;
		}
		free(u->cu_emb_version);
		u->cu_emb_version = v;
	}
	if (rv > 0 && u->cu_emb_f != f) {
		float *e = realloc(u->cu_emb, (f ? f : 1) * sizeof(float));
		if (e == NULL) {
			u->cu_emb_gen = 0;
			ret = RS_ENOMEM;
			goto out;
		}
		u->cu_emb = e;
		u->cu_emb_f = f;
	}
	if (rv > 0)
		memcpy(u->cu_emb, emb, f * sizeof(float));
	u->cu_emb_rv = rv;
	u->cu_emb_n = n;
	u->cu_emb_gen = gen;
out:
	pthread_mutex_unlock(&c->c_mu);
	return ret;
}

size_t
feat_cache_users(feat_cache *c)
{
	pthread_mutex_lock(&c->c_mu);
	size_t n = c->c_count;
	pthread_mutex_unlock(&c->c_mu);
	return n;
}
