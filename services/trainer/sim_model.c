#include "sim_model.h"

#include <math.h>

double
sim_examine(int pos)
{
	return pos < 1 ? 0.0 : 1.0 / log2((double) pos + 1.0);
}

static double
sim_intent_factor(const dio_world *w, long i, long intent)
{
	return intent == SIM_NO_INTENT || (long) w->items[i].leaf == intent ? 1.0 : SIM_OFF_INTENT;
}

double
sim_p_click(const dio_world *w, long u, long i, int pos, long intent)
{
	if (u < 0 || u >= w->nusers || i < 0 || i >= w->nitems)
		return 0.0;
	return sim_examine(pos) * dio_world_p_click(dio_world_utility(w, u, i)) *
	       sim_intent_factor(w, i, intent);
}

double
sim_p_return(double appeal)
{
	return SIM_RETURN_BASE + SIM_RETURN_GAIN * appeal;
}

double
sim_decide(const dio_world *w, long u, long intent, const long *items, size_t n, dio_rng *r,
           sim_action *act)
{
	double none = 1.0;
	for (size_t p = 0; p < n; p++) {
		sim_action *a = &act[p];
		int pos = (int) p + 1;
		long i = items[p];
		*a = (sim_action){0};
		/* four draws per position whatever happens, so later positions do not depend on
		 * earlier outcomes' branches */
		double ue = dio_rng_unif(r), uc = dio_rng_unif(r), ua = dio_rng_unif(r),
		       ub = dio_rng_unif(r);
		if (i < 0 || i >= w->nitems)
			continue;
		const dio_witem *it = &w->items[i];
		double sc = dio_world_utility(w, u, i);
		double pc = dio_world_p_click(sc) * sim_intent_factor(w, i, intent);
		none *= 1.0 - sim_examine(pos) * pc;
		a->examined = ue < sim_examine(pos);
		a->clicked = a->examined && uc < pc;
		a->carted = a->clicked && it->in_stock && ua < dio_world_p_cart(sc);
		a->bought = a->carted && ub < DIO_WORLD_P_BUY &&
		            it->price <= w->users[u].budget * DIO_WORLD_BUY_MAX_BUDGET;
	}
	return 1.0 - none;
}

void
sim_rng(dio_rng *r, uint64_t seed, long u, int day)
{
	dio_rng_seed(r, seed ^ ((uint64_t) (u + 1) * 0x9e3779b97f4a7c15ULL) ^
	                        ((uint64_t) (day + 1) * 0xc2b2ae3d27d4eb4fULL));
}
