/* Malformed and mutated UserFeaturesRequest bodies straight into the handler (database down,
 * so valid ones answer UNAVAILABLE at once): never a crash, always a known status. */
#include <criterion/criterion.h>
#include <string.h>

#include "feature.h"
#include "feature.pb-c.h"
#include "rs_arena.h"

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*s >> 33);
}

Test(feature_fuzz, mutated_bodies_never_crash)
{
	feat_state *st;
	feat_config cfg = {.pg_dsn = "host=127.0.0.1 port=1 user=postgres dbname=none",
	                   .pub_url = "",
	                   .workers = 1,
	                   .log_level = RS_LOG_ERROR,
	                   .max_events = 50,
	                   .history_cap = 100,
	                   .cache_users = 100,
	                   .cache_ttl_ms = 1000,
	                   .pg_timeout_ms = 100};
	rs_log_init("feature-fuzz", RS_LOG_ERROR);
	cr_assert_eq(feat_open(&st, &cfg), 0);
	Rs__UserFeaturesRequest req = RS__USER_FEATURES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "fuzz";
	h.deadline_unix_ms = 1;
	req.header = &h;
	req.user_id = 123456789;
	req.max_events = 20;
	size_t n = rs__user_features_request__get_packed_size(&req);
	uint8_t valid[128], buf[192];
	cr_assert_lt(n, sizeof(valid));
	rs__user_features_request__pack(&req, valid);
	rs_rpc_fn fn = NULL;
	for (const rs_rpc_route *r = feat_routes; r->fn != NULL; r++)
		if (r->method == RS__METHOD__METHOD_USER_FEATURES)
			fn = r->fn;
	cr_assert_not_null(fn);
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	uint64_t seed = 3;
	for (int it = 0; it < 5000; it++) {
		size_t len = n;
		memcpy(buf, valid, n);
		switch (rnd(&seed) % 3) {
		case 0:
			for (int f = 1 + (int) (rnd(&seed) % 4); f > 0; f--)
				buf[rnd(&seed) % n] = (uint8_t) rnd(&seed);
			break;
		case 1:
			len = rnd(&seed) % n;
			break;
		default:
			len = rnd(&seed) % sizeof(buf);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t) rnd(&seed);
			break;
		}
		rs_rpc_call call = {.arena = a,
		                    .method = RS__METHOD__METHOD_USER_FEATURES,
		                    .body = buf,
		                    .body_len = len,
		                    .request_id = ""};
		fn(st, &call);
		cr_assert(call.status == RS__STATUS__STATUS_INVALID ||
		                  call.status == RS__STATUS__STATUS_UNAVAILABLE,
		          "iteration %d: status %d (%s)", it, call.status, call.error);
		rs_arena_reset(a);
	}
	rs_arena_destroy(a);
	feat_close(st);
}
