#include "ratelimit.h"

#include "rs_err.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_KEYBYTES 16
#define RL_PROBE    64 /* slots a key may live in, from its hash on */

typedef struct rl_entry {
	unsigned char e_key[RL_KEYBYTES];
	int64_t e_start_ms; /* window: the window's first failure; bucket: the last refill */
	int e_count;        /* window: failures; bucket: 1; 0: the slot is free */
	double e_tokens;    /* bucket: tokens at e_start_ms */
} rl_entry;

struct gw_ratelimit {
	pthread_mutex_t rl_mu;
	rl_entry *rl_entries;
	size_t rl_cap;
	size_t rl_probe; /* min(capacity, RL_PROBE) */
	int rl_bucket;   /* 1: bucket mode */
	int rl_limit;    /* window: failures per window; bucket: the burst */
	int64_t rl_window_ms;
	double rl_per_ms; /* bucket: tokens gained per ms */
	unsigned char rl_hashkey[crypto_generichash_KEYBYTES];
};

static int
rl_alloc(gw_ratelimit **out, size_t capacity)
{
	if (sodium_init() < 0)
		return RS_EINTERNAL;
	gw_ratelimit *rl = calloc(1, sizeof(*rl));
	if (rl == NULL || (rl->rl_entries = calloc(capacity, sizeof(rl_entry))) == NULL) {
		free(rl);
		return RS_ENOMEM;
	}
	pthread_mutex_init(&rl->rl_mu, NULL);
	rl->rl_cap = capacity;
	rl->rl_probe = capacity < RL_PROBE ? capacity : RL_PROBE;
	randombytes_buf(rl->rl_hashkey, sizeof(rl->rl_hashkey));
	*out = rl;
	return 0;
}

int
gw_ratelimit_create(gw_ratelimit **out, size_t capacity, int limit, int64_t window_ms)
{
	if (capacity < 1 || limit < 1 || window_ms < 1000)
		return RS_EINVAL;
	int rv = rl_alloc(out, capacity);
	if (rv == 0) {
		(*out)->rl_limit = limit;
		(*out)->rl_window_ms = window_ms;
	}
	return rv;
}

int
gw_ratelimit_create_bucket(gw_ratelimit **out, size_t capacity, int rate, int64_t per_ms, int burst)
{
	if (capacity < 1 || rate < 1 || per_ms < 1 || burst < 1)
		return RS_EINVAL;
	int rv = rl_alloc(out, capacity);
	if (rv == 0) {
		(*out)->rl_bucket = 1;
		(*out)->rl_limit = burst;
		(*out)->rl_per_ms = (double) rate / (double) per_ms;
	}
	return rv;
}

void
gw_ratelimit_destroy(gw_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->rl_mu);
	free(rl->rl_entries);
	free(rl);
}

/* key's hash, and the first slot of its neighbourhood */
static size_t
rl_hash(const gw_ratelimit *rl, const char *key, unsigned char out[RL_KEYBYTES])
{
	uint64_t h;
	crypto_generichash(out, RL_KEYBYTES, (const unsigned char *) key, strlen(key),
	                   rl->rl_hashkey, sizeof(rl->rl_hashkey));
	memcpy(&h, out, sizeof(h));
	return (size_t) (h % rl->rl_cap);
}

/* bucket: e's tokens at now_ms (at most the burst) */
static double
rl_tokens(const gw_ratelimit *rl, const rl_entry *e, int64_t now_ms)
{
	double t = e->e_tokens;
	if (now_ms > e->e_start_ms)
		t += (double) (now_ms - e->e_start_ms) * rl->rl_per_ms;
	return t < rl->rl_limit ? t : rl->rl_limit;
}

/* 1 while e holds state that matters: a window not over, a bucket not full again */
static int
rl_live(const gw_ratelimit *rl, const rl_entry *e, int64_t now_ms)
{
	if (e->e_count == 0)
		return 0;
	if (rl->rl_bucket)
		return rl_tokens(rl, e, now_ms) < rl->rl_limit;
	return now_ms < e->e_start_ms + rl->rl_window_ms;
}

/* The i-th slot of the neighbourhood that starts at first. */
static rl_entry *
rl_slot(gw_ratelimit *rl, size_t first, size_t i)
{
	return &rl->rl_entries[(first + i) % rl->rl_cap];
}

/* The live entry of h, or NULL. Caller holds the lock. */
static rl_entry *
rl_find(gw_ratelimit *rl, size_t first, const unsigned char *h, int64_t now_ms)
{
	for (size_t i = 0; i < rl->rl_probe; i++) {
		rl_entry *e = rl_slot(rl, first, i);
		if (e->e_count > 0 && memcmp(e->e_key, h, RL_KEYBYTES) == 0)
			return rl_live(rl, e, now_ms) ? e : NULL;
	}
	return NULL;
}

/* h's entry, made when it has none (fresh: count 0, start now, tokens = burst). Caller holds
 * the lock. */
static rl_entry *
rl_claim(gw_ratelimit *rl, size_t first, const unsigned char *h, int64_t now_ms)
{
	rl_entry *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < rl->rl_probe; i++) {
		rl_entry *e = rl_slot(rl, first, i);
		if (e->e_count > 0 && memcmp(e->e_key, h, RL_KEYBYTES) == 0) {
			slot = e; /* this key's entry, live or over */
			break;
		}
		if (slot == NULL && !rl_live(rl, e, now_ms))
			slot = e; /* first free or finished slot, if the key has none */
		if (oldest == NULL || e->e_start_ms < oldest->e_start_ms)
			oldest = e;
	}
	if (slot == NULL)
		slot = oldest; /* full of live entries: the one opened first makes room */
	if (memcmp(slot->e_key, h, RL_KEYBYTES) != 0 || !rl_live(rl, slot, now_ms)) {
		memcpy(slot->e_key, h, RL_KEYBYTES);
		slot->e_start_ms = now_ms;
		slot->e_count = 0;
		slot->e_tokens = rl->rl_limit;
	}
	return slot;
}

int
gw_ratelimit_blocked_s(gw_ratelimit *rl, const char *key, int64_t now_ms)
{
	unsigned char h[RL_KEYBYTES];
	int secs = 0;

	size_t first = rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	rl_entry *e = rl_find(rl, first, h, now_ms);
	if (e != NULL && e->e_count >= rl->rl_limit) {
		int64_t left = e->e_start_ms + rl->rl_window_ms - now_ms;
		secs = (int) ((left + 999) / 1000);
	}
	pthread_mutex_unlock(&rl->rl_mu);
	return secs;
}

void
gw_ratelimit_fail(gw_ratelimit *rl, const char *key, int64_t now_ms)
{
	unsigned char h[RL_KEYBYTES];

	size_t first = rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	rl_entry *slot = rl_claim(rl, first, h, now_ms);
	if (slot->e_count < rl->rl_limit)
		slot->e_count++;
	pthread_mutex_unlock(&rl->rl_mu);
}

int
gw_ratelimit_take(gw_ratelimit *rl, const char *key, int64_t now_ms)
{
	unsigned char h[RL_KEYBYTES];
	int secs = 0;

	size_t first = rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	rl_entry *e = rl_claim(rl, first, h, now_ms);
	double t = rl_tokens(rl, e, now_ms);
	if (now_ms > e->e_start_ms)
		e->e_start_ms = now_ms;
	e->e_count = 1;
	if (t >= 1.0) {
		e->e_tokens = t - 1.0;
	} else {
		e->e_tokens = t;
		double wait_ms = (1.0 - t) / rl->rl_per_ms;
		secs = (int) (wait_ms / 1000.0);
		if ((double) secs * 1000.0 < wait_ms)
			secs++; /* rounded up: a client that waits that long finds a token */
		if (secs < 1)
			secs = 1;
	}
	pthread_mutex_unlock(&rl->rl_mu);
	return secs;
}

void
gw_ratelimit_clear(gw_ratelimit *rl, const char *key)
{
	unsigned char h[RL_KEYBYTES];

	size_t first = rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	for (size_t i = 0; i < rl->rl_probe; i++) {
		rl_entry *e = rl_slot(rl, first, i);
		if (e->e_count > 0 && memcmp(e->e_key, h, RL_KEYBYTES) == 0)
			memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&rl->rl_mu);
}

size_t
gw_ratelimit_used(gw_ratelimit *rl)
{
	size_t n = 0;
	pthread_mutex_lock(&rl->rl_mu);
	for (size_t i = 0; i < rl->rl_cap; i++)
		n += rl->rl_entries[i].e_count > 0;
	pthread_mutex_unlock(&rl->rl_mu);
	return n;
}
