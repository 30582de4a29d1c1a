/* params: see params.h. */
#include "params.h"

#include <stdio.h>
#include <string.h>

#include "rs_err.h"

static const char *const kind_names[TR_KIND_COUNT] = {"pop", "itemknn", "als", "ease", "two-stage"};

void
tr_params_defaults(tr_params *p)
{
	memset(p, 0, sizeof(*p));
	p->half_life = 0;
	p->knn_k = 200;
	p->shrink = 0;
	p->seq_weight = 0;
	p->factors = 64;
	p->iterations = 15;
	p->cg_steps = 3;
	p->reg = 10;
	p->alpha = 2;
	p->lambda = 300;
	p->max_mem_gb = 16;
	p->max_items = 30000;
	snprintf(p->sources, sizeof(p->sources), "%s", "ease,als,itemknn,pop");
	p->cand_n = 100;
	p->trees = 200;
	p->depth = 6;
	p->eta = 0.1;
	p->holdout_frac = 0.2;
	snprintf(p->holdout, sizeof(p->holdout), "%s", "temporal-user");
	p->fallback = -1;
	snprintf(p->objective, sizeof(p->objective), "%s", "rank:pairwise");
	p->nthreads = tr_nthreads();
	p->seed = 0;
}

const char *
tr_kind_name(tr_kind k)
{
	return (unsigned) k < TR_KIND_COUNT ? kind_names[k] : "unknown";
}

int
tr_kind_parse(const char *s, tr_kind *out, tr_error *err)
{
	int k;

	for (k = 0; k < TR_KIND_COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (tr_kind) k;
			return 0;
		}
	if (strcmp(s, "ials") == 0 || strcmp(s, "twostage") == 0) {
		*out = s[0] == 'i' ? TR_ALS : TR_TWOSTAGE;
		return 0;
	}
	return tr_error_set(err, RS_EINVAL,
	                    "unknown model '%s' (known: pop, itemknn, als, ease, two-stage)", s);
}
