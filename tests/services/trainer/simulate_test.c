/* The choice model of `rs-train simulate` (sim_model.c) and the world it rebuilds
 * (dataio/world.h): the world is the shop `rs-train generate` writes for the same seed, the
 * position bias falls with the position, a customer clicks items of its taste more often than
 * others, and the decisions follow the probabilities (all computed here from the world's
 * fields, independently of sim_model.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvr.h"
#include "dataio.h"
#include "dio.h"
#include "helpers.h"
#include "sim_model.h"
#include "world.h"

#define NU 200
#define NI 600

static dio_world w;

static void
build(void)
{
	dio_rng r;
	dio_rng_seed(&r, 42);
	cr_assert_eq(dio_world_build(&w, &r, NU, NI, 25), 0);
}

static void
teardown(void)
{
	dio_world_free(&w);
	th_cleanup();
}

/* The hidden utility and click probability, written out from the generator's description. */
static double
my_utility(long u, long i)
{
	const dio_wuser *us = &w.users[u];
	const dio_witem *it = &w.items[i];
	double dot = 0;
	for (int k = 0; k < DIO_WORLD_K; k++)
		dot += (double) us->u[k] * it->v[k];
	int gb = dio_world_brand_index(it);
	double bonus = gb == us->fav_brand[0] || gb == us->fav_brand[1] ? 1.0 : 0.0;
	double over = log(it->price / us->budget);
	return 3.0 * dot + 0.7 * it->logpop + bonus - 1.5 * (over > 0 ? over : 0);
}

static double
my_p_click(long u, long i, int pos, long intent)
{
	double sc = my_utility(u, i);
	double f = intent < 0 || (long) w.items[i].leaf == intent ? 1.0 : 0.25;
	return (1.0 / log2(pos + 1.0)) * 0.55 / (1.0 + exp(-(sc - 1.0))) * f;
}

TestSuite(simulate, .init = build, .fini = teardown);

Test(simulate, the_world_is_the_generated_shop)
{
	const char *dir = th_tmpdir();
	char users[16], items[16],
	        *argv[] = {"generate", "--out",  (char *) dir, "--users", users,        "--items",
	                   items,      "--seed", "42",         "--end",   "1764288000", NULL};
	snprintf(users, sizeof(users), "%d", NU);
	snprintf(items, sizeof(items), "%d", NI);
	cr_assert_eq(trn_cmd_generate(11, argv), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/items.csv", dir);
	const tr_csv_dialect csv = {.delim = ",", .quotes = 1};
	tr_csvr c;
	cr_assert_eq(tr_csvr_open(&c, path, &csv), 0);
	cr_assert_eq(tr_csvr_next(&c), 1); /* header */
	long n = 0;
	while (tr_csvr_next(&c) == 1) {
		cr_assert_geq(c.nfields, 7);
		long i = atol(c.fields[0]) - 1;
		cr_assert(i >= 0 && i < NI, "item id %s", c.fields[0]);
		cr_assert_str_eq(c.fields[2], w.items[i].title, "item %ld", i + 1);
		cr_assert_str_eq(c.fields[3], dio_world_leaf_path(w.items[i].leaf));
		cr_assert_str_eq(c.fields[4], dio_world_brand_name(&w.items[i]));
		cr_assert_float_eq(atof(c.fields[5]), w.items[i].price, 1e-6, "item %ld", i + 1);
		cr_assert_str_eq(c.fields[6], w.items[i].in_stock ? "true" : "false");
		n++;
	}
	tr_csvr_close(&c);
	cr_assert_eq(n, NI);
	snprintf(path, sizeof(path), "%s/users.csv", dir);
	cr_assert_eq(tr_csvr_open(&c, path, &csv), 0);
	cr_assert_eq(tr_csvr_next(&c), 1);
	n = 0;
	while (tr_csvr_next(&c) == 1) {
		long u = atol(c.fields[0]) - 1;
		cr_assert(u >= 0 && u < NU);
		cr_assert_str_eq(c.fields[c.nfields - 1], w.users[u].name, "user %ld", u + 1);
		n++;
	}
	tr_csvr_close(&c);
	cr_assert_eq(n, NU);
	/* and the same seed gives the same world, another seed another */
	dio_world w2;
	dio_rng r;
	dio_rng_seed(&r, 42);
	cr_assert_eq(dio_world_build(&w2, &r, NU, NI, 25), 0);
	cr_assert_eq(memcmp(w2.items, w.items, NI * sizeof(*w.items)), 0);
	cr_assert_eq(memcmp(w2.users, w.users, NU * sizeof(*w.users)), 0);
	dio_world_free(&w2);
	dio_rng_seed(&r, 43);
	cr_assert_eq(dio_world_build(&w2, &r, NU, NI, 25), 0);
	cr_assert_neq(memcmp(w2.items, w.items, NI * sizeof(*w.items)), 0);
	dio_world_free(&w2);
}

Test(simulate, position_bias_falls_with_the_position)
{
	cr_assert_float_eq(sim_examine(1), 1.0, 1e-12);
	cr_assert_float_eq(sim_examine(3), 0.5, 1e-12);
	cr_assert_eq(sim_examine(0), 0.0);
	for (int p = 1; p < 100; p++) {
		cr_assert_gt(sim_examine(p), sim_examine(p + 1), "position %d", p);
		cr_assert_gt(sim_examine(p + 1), 0.0);
	}
	/* the same item further down is clicked less */
	for (int p = 1; p < 20; p++)
		cr_assert_gt(sim_p_click(&w, 3, 5, p, SIM_NO_INTENT),
		             sim_p_click(&w, 3, 5, p + 1, SIM_NO_INTENT));
}

Test(simulate, a_customer_clicks_its_taste_more_than_other_items)
{
	int better = 0, compared = 0;
	for (long u = 0; u < NU; u++) {
		const dio_wuser *us = &w.users[u];
		double in = 0, out = 0;
		int nin = 0, nout = 0;
		for (long i = 0; i < NI; i++) {
			double p = sim_p_click(&w, u, i, 1, SIM_NO_INTENT);
			cr_assert_float_eq(p, my_p_click(u, i, 1, -1), 1e-9, "user %ld item %ld", u,
			                   i);
			/* the visit's intent leaf: 4 times likelier than the same item otherwise */
			long other = (long) (w.items[i].leaf + 1) % (long) w.nleaves;
			cr_assert_float_eq(sim_p_click(&w, u, i, 1, (long) w.items[i].leaf), p,
			                   1e-12);
			cr_assert_float_eq(sim_p_click(&w, u, i, 1, other), p / 4, 1e-12);
			int fav = 0;
			for (int f = 0; f < us->nfav; f++)
				fav |= w.items[i].leaf == us->fav[f];
			if (w.items[i].leaf == us->fav[0]) {
				in += p;
				nin++;
			} else if (!fav) {
				out += p;
				nout++;
			}
		}
		if (nin == 0 || nout == 0)
			continue;
		compared++;
		better += in / nin > out / nout;
	}
	cr_assert_gt(compared, NU / 2);
	/* customers prefer their first favourite leaf's items on average (not all: price over
	 * budget and popularity weigh too) */
	cr_assert_geq(better, compared * 9 / 10, "%d of %d customers", better, compared);
	/* the same item with its vector turned to the customer's taste: clicked more */
	for (long u = 0; u < 20; u++) {
		long i = (u * 37) % NI;
		dio_witem saved = w.items[i];
		double before = sim_p_click(&w, u, i, 2, SIM_NO_INTENT);
		double dot = 0;
		for (int k = 0; k < DIO_WORLD_K; k++)
			dot += (double) w.users[u].u[k] * saved.v[k];
		memcpy(w.items[i].v, w.users[u].u, sizeof(w.items[i].v));
		double after = sim_p_click(&w, u, i, 2, SIM_NO_INTENT);
		cr_assert_float_eq(after, my_p_click(u, i, 2, -1), 1e-9);
		w.items[i] = saved;
		if (dot < 0.999)
			cr_assert_gt(after, before, "user %ld item %ld", u, i);
	}
	/* an item out of the world is never clicked */
	cr_assert_eq(sim_p_click(&w, 0, NI, 1, SIM_NO_INTENT), 0.0);
}

Test(simulate, decisions_follow_the_probabilities)
{
	const long items[5] = {10, 20, 30, 40, 50};
	const long intent = (long) w.items[30].leaf; /* position 3's leaf */
	const int draws = 20000;
	long clicks[5] = {0};
	sim_action act[5];
	double want_appeal = 1.0;
	for (int p = 0; p < 5; p++)
		want_appeal *= 1.0 - my_p_click(7, items[p], p + 1, intent);
	want_appeal = 1.0 - want_appeal;
	for (int d = 0; d < draws; d++) {
		dio_rng r;
		sim_rng(&r, 99, 7, d);
		double q = sim_decide(&w, 7, intent, items, 5, &r, act);
		cr_assert_float_eq(q, want_appeal, 1e-9);
		for (int p = 0; p < 5; p++) {
			clicks[p] += act[p].clicked;
			cr_assert(!act[p].clicked || act[p].examined);
			cr_assert(!act[p].carted || (act[p].clicked && w.items[items[p]].in_stock));
			cr_assert(!act[p].bought || act[p].carted);
			cr_assert(!act[p].bought ||
			          w.items[items[p]].price <= 2.5 * w.users[7].budget);
		}
	}
	for (int p = 0; p < 5; p++) {
		double want = my_p_click(7, items[p], p + 1, intent);
		double sd = sqrt(want * (1 - want) / draws);
		cr_assert(fabs((double) clicks[p] / draws - want) < 4 * sd + 1e-9,
		          "position %d: %ld clicks of %d, want p %.4f", p + 1, clicks[p], draws,
		          want);
	}
	/* the return probability grows with the appeal */
	cr_assert_lt(sim_p_return(0.1), sim_p_return(0.6));
	/* the same customer, day and seed: the same draws */
	dio_rng a, b;
	sim_rng(&a, 5, 3, 2);
	sim_rng(&b, 5, 3, 2);
	cr_assert_eq(dio_rng_next(&a), dio_rng_next(&b));
	sim_rng(&b, 5, 3, 3);
	cr_assert_neq(dio_rng_next(&a), dio_rng_next(&b));
}
