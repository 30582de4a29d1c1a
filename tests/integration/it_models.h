/* it_models: a seeded shop and fixture model versions for the integration suites that switch
 * versions (admin_test.c, openapi_test.c). Header-only; include after stack.h. A version is a
 * folder written by model_fixture.h (the layout rs-train publish writes) plus its
 * model_versions row with an absolute path, so the services need no RS_MODEL_DIR. */
#ifndef IT_MODELS_H
#define IT_MODELS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "model_fixture.h"
#include "stack.h"

#define ITM_ITEMS   40u
#define ITM_FACTORS 8u
#define ITM_NB      3u

/* itm_publish: write version `version` under root (variant 0/1 changes factors and the popular
 * order) and register it in model_versions (not active). */
static void
itm_publish(const test_stack *st, const char *root, const char *version, int variant,
            const char *metrics_json)
{
	static int64_t ids[ITM_ITEMS];
	static float V[ITM_ITEMS * ITM_FACTORS];
	static fx_nb nbs[ITM_ITEMS][ITM_NB];
	static const fx_nb *nbp[ITM_ITEMS];
	static uint32_t nbl[ITM_ITEMS], pop[ITM_ITEMS];
	char dir[512], sql[1400];

	for (uint32_t c = 0; c < ITM_ITEMS; c++) {
		ids[c] = (int64_t) c + 1;
		for (uint32_t f = 0; f < ITM_FACTORS; f++)
			V[c * ITM_FACTORS + f] =
			        (float) (0.1 + 0.05 * sin((double) (c * (variant + 3) + f * 7)));
		uint32_t base = c < 20 ? 0 : 20;
		for (uint32_t j = 0; j < ITM_NB; j++) {
			nbs[c][j].code = base + (c - base + j + 1) % 20;
			nbs[c][j].sim = 0.9f - 0.1f * (float) j;
		}
		nbp[c] = nbs[c];
		nbl[c] = ITM_NB;
		pop[c] = variant ? ITM_ITEMS - 1 - c : c;
	}
	fx_model m = {.n_items = ITM_ITEMS,
	              .factors = ITM_FACTORS,
	              .ids = ids,
	              .V = V,
	              .nb = nbp,
	              .nb_len = nbl,
	              .popular = pop,
	              .n_popular = ITM_ITEMS,
	              .alpha = 10,
	              .reg = 0.1,
	              .ranker = 1};
	snprintf(dir, sizeof(dir), "%s/%s", root, version);
	fx_model_write(dir, &m);
	snprintf(sql, sizeof(sql),
	         "insert into model_versions(version, path, metrics, params) values ('%s', '%s', "
	         "'%s', '{\"model\": \"als\", \"factors\": %u}');",
	         version, dir, metrics_json, ITM_FACTORS);
	cr_assert_eq(stack_sql(st, sql), 0, "registering %s failed", version);
}

#endif
