#include "ratelimit.h"

#include "rs_err.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_KEYBYTES 16

typedef struct rl_entry {
	unsigned char e_key[RL_KEYBYTES];
	int64_t e_start_ms; /* the window's first failure */
	int e_count;        /* 0: the slot is free */
} rl_entry;

struct gw_ratelimit {
	pthread_mutex_t rl_mu;
	rl_entry *rl_entries;
	size_t rl_cap;
	int rl_limit;
	int64_t rl_window_ms;
	unsigned char rl_hashkey[crypto_generichash_KEYBYTES];
};

int
gw_ratelimit_create(gw_ratelimit **out, size_t capacity, int limit, int64_t window_ms)
{
	if (capacity < 1 || limit < 1 || window_ms < 1000)
		return RS_EINVAL;
	if (sodium_init() < 0)
		return RS_EINTERNAL;
	gw_ratelimit *rl = calloc(1, sizeof(*rl));
	if (rl == NULL || (rl->rl_entries = calloc(capacity, sizeof(rl_entry))) == NULL) {
		free(rl);
		return RS_ENOMEM;
	}
	pthread_mutex_init(&rl->rl_mu, NULL);
	rl->rl_cap = capacity;
	rl->rl_limit = limit;
	rl->rl_window_ms = window_ms;
	randombytes_buf(rl->rl_hashkey, sizeof(rl->rl_hashkey));
	*out = rl;
	return 0;
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

static void
rl_hash(const gw_ratelimit *rl, const char *key, unsigned char out[RL_KEYBYTES])
{
	crypto_generichash(out, RL_KEYBYTES, (const unsigned char *) key, strlen(key),
	                   rl->rl_hashkey, sizeof(rl->rl_hashkey));
}

static int
rl_live(const gw_ratelimit *rl, const rl_entry *e, int64_t now_ms)
{
	return e->e_count > 0 && now_ms < e->e_start_ms + rl->rl_window_ms;
}

/* The live entry of h, or NULL. Caller holds the lock. */
static rl_entry *
rl_find(gw_ratelimit *rl, const unsigned char *h, int64_t now_ms)
{
	for (size_t i = 0; i < rl->rl_cap; i++) {
		rl_entry *e = &rl->rl_entries[i];
		if (e->e_count > 0 && memcmp(e->e_key, h, RL_KEYBYTES) == 0)
			return rl_live(rl, e, now_ms) ? e : NULL;
	}
	return NULL;
}

int
gw_ratelimit_blocked_s(gw_ratelimit *rl, const char *key, int64_t now_ms)
{
	unsigned char h[RL_KEYBYTES];
	int secs = 0;

	rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	rl_entry *e = rl_find(rl, h, now_ms);
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

	rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	rl_entry *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < rl->rl_cap; i++) {
		rl_entry *e = &rl->rl_entries[i];
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
		slot = oldest; /* full of live windows: the one opened first makes room */
	if (memcmp(slot->e_key, h, RL_KEYBYTES) != 0 || !rl_live(rl, slot, now_ms)) {
		memcpy(slot->e_key, h, RL_KEYBYTES);
		slot->e_start_ms = now_ms;
		slot->e_count = 0;
	}
	if (slot->e_count < rl->rl_limit)
		slot->e_count++;
	pthread_mutex_unlock(&rl->rl_mu);
}

void
gw_ratelimit_clear(gw_ratelimit *rl, const char *key)
{
	unsigned char h[RL_KEYBYTES];

	rl_hash(rl, key, h);
	pthread_mutex_lock(&rl->rl_mu);
	for (size_t i = 0; i < rl->rl_cap; i++) {
		rl_entry *e = &rl->rl_entries[i];
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
