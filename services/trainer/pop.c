/* pop: see pop.h. */
#include "pop.h"

#include <math.h>
#include <stdlib.h>

float *
tr_pop_fit(const tr_dataset *ds, double half_life)
{
	float *pop;
	double *acc, tmax = -INFINITY;
	int64_t e;
	int32_t u, i;

	if (half_life <= 0 && !tr_dataset_is_weighted(ds))
		return tr_dataset_item_pop(ds);
	for (e = 0; e < ds->nnz; e++)
		if (ds->u_ts[e] > tmax)
			tmax = ds->u_ts[e];
	acc = tr_xcalloc((size_t) ds->n_items + 1, sizeof(double));
	for (u = 0; u < ds->n_users; u++) {
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++)
			acc[ds->u_items[e]] +=
			        (ds->u_w != NULL ? ds->u_w[e] : 1.0) *
			        (half_life > 0 ? exp2(-(tmax - ds->u_ts[e]) / half_life) : 1.0);
		if (ds->neg_ptr != NULL) /* explicit negatives count against the item */
			for (e = ds->neg_ptr[u]; e < ds->neg_ptr[u + 1]; e++)
				acc[ds->neg_items[e]] -=
				        ds->neg_w[e] *
				        (half_life > 0
				                 ? exp2(-fmax(0, tmax - ds->neg_ts[e]) / half_life)
				                 : 1.0);
	}
	pop = tr_xmalloc(((size_t) ds->n_items + 1) * sizeof(float));
	for (i = 0; i < ds->n_items; i++)
		pop[i] = (float) acc[i];
	free(acc);
	return pop;
}
