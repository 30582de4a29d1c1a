/* Event weights and explicit negatives: aggregation, CSV event logs, and that a negative pushes
 * an item down in pop, itemknn and ALS and keeps it out of the user's list. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "events.h"
#include "load.h"
#include "model.h"
#include "rs_err.h"
#include "stage1.h"

static char tmp_path[64];

static const char *
write_tmp(const char *text)
{
	int fd;
	FILE *f;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/rs-events-XXXXXX");
	fd = mkstemp(tmp_path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return tmp_path;
}

static void
rm_tmp(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

TestSuite(events, .fini = rm_tmp, .timeout = 30);

/* the entry of (user u, item i) in ds, or -1 */
static float
pos_weight(const tr_dataset *ds, int32_t u, int32_t i)
{
	for (int64_t e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++)
		if (ds->u_items[e] == i)
			return ds->u_w[e];
	return -1;
}

static float
neg_weight(const tr_dataset *ds, int32_t u, int32_t i)
{
	for (int64_t e = ds->neg_ptr[u]; e < ds->neg_ptr[u + 1]; e++)
		if (ds->neg_items[e] == i)
			return ds->neg_w[e];
	return -1;
}

Test(events, weights_parse_and_defaults)
{
	tr_weights w;
	tr_error err;
	char buf[192];

	rs_event_weights_defaults(&w);
	cr_assert_eq(w.w[RS__EVENT_TYPE__EVENT_PURCHASE], 8);
	cr_assert_eq(tr_weights_parse("view=0.5,purchase=10,rating_low=2.5", &w, &err), 0);
	cr_assert_eq(w.w[RS__EVENT_TYPE__EVENT_VIEW], 0.5);
	cr_assert_eq(w.w[RS__EVENT_TYPE__EVENT_PURCHASE], 10);
	cr_assert_eq(w.rating_low, 2.5);
	cr_assert_eq(w.w[RS__EVENT_TYPE__EVENT_CLICK], 2); /* untouched */
	rs_event_weights_format(&w, buf, sizeof(buf));
	cr_assert_str_eq(buf, "view=0.5,click=2,add_to_cart=4,purchase=10,rating=2,"
	                      "not_interested=8,rating_low=2.5");
	cr_assert_eq(tr_weights_parse("like=3", &w, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "unknown event type 'like'") != NULL, "%s", err.msg);
	cr_assert_eq(tr_weights_parse("view=-1", &w, &err), RS_EINVAL);
	cr_assert_eq(rs_event_type_parse("add_to_cart"), RS__EVENT_TYPE__EVENT_ADD_TO_CART);
	cr_assert_eq(rs_event_type_parse("6"), RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
	cr_assert_eq(rs_event_type_parse("7"), -1);
}

Test(events, aggregation_known_answers)
{
	/* user a: x view+purchase = 9; y not_interested = negative 8; z rating 1 = negative
	 * 2 * (3 - 1) = 4; w purchase then rating 2 = negative 2; v not_interested then
	 * purchase = positive 8 (a later purchase overrides); r rating 5 = 2 * 3 = 6 */
	const char *csv = write_tmp("user,item,timestamp,type,value\n"
	                            "a,x,1,view,\n"
	                            "a,x,2,purchase,1\n"
	                            "a,y,3,view,\n"
	                            "a,y,4,not_interested,\n"
	                            "a,z,5,rating,1\n"
	                            "a,w,6,purchase,\n"
	                            "a,w,7,rating,2\n"
	                            "a,v,8,6,\n"
	                            "a,v,9,4,\n"
	                            "a,r,10,rating,5\n"
	                            "b,x,1,click,\n");
	tr_dataset ds;
	tr_error err;
	int32_t a, b, x, y, z, w, v, r;

	cr_assert_eq(tr_dataset_load(csv, &ds, &err), 0, "%s", err.msg);
	cr_assert(tr_dataset_is_weighted(&ds));
	a = tr_ids_find(ds.users, "a", 1);
	b = tr_ids_find(ds.users, "b", 1);
	x = tr_ids_find(ds.items, "x", 1);
	y = tr_ids_find(ds.items, "y", 1);
	z = tr_ids_find(ds.items, "z", 1);
	w = tr_ids_find(ds.items, "w", 1);
	v = tr_ids_find(ds.items, "v", 1);
	r = tr_ids_find(ds.items, "r", 1);
	cr_assert_float_eq(pos_weight(&ds, a, x), 9, 1e-6);
	cr_assert_float_eq(pos_weight(&ds, a, v), 8, 1e-6);
	cr_assert_float_eq(pos_weight(&ds, a, r), 6, 1e-6);
	cr_assert_float_eq(pos_weight(&ds, b, x), 2, 1e-6);
	cr_assert_eq(pos_weight(&ds, a, y), -1);
	cr_assert_float_eq(neg_weight(&ds, a, y), 8, 1e-6);
	cr_assert_float_eq(neg_weight(&ds, a, z), 4, 1e-6);
	cr_assert_float_eq(neg_weight(&ds, a, w), 2, 1e-6);
	cr_assert_eq(ds.nnz, 4);
	cr_assert_eq(ds.n_neg, 3);
	tr_dataset_fini(&ds);
}

Test(events, plain_csv_is_unweighted_and_bad_type_names_the_line)
{
	const char *csv = write_tmp("user,item,timestamp\na,x,1\na,y,2\n");
	tr_dataset ds;
	tr_error err;

	cr_assert_eq(tr_dataset_load(csv, &ds, &err), 0, "%s", err.msg);
	cr_assert_null(ds.u_w);
	cr_assert_eq(ds.n_neg, 0);
	tr_dataset_fini(&ds);
	rm_tmp();
	csv = write_tmp("user,item,timestamp,type\na,x,1,view\na,y,2,wishlist\n");
	cr_assert_eq(tr_dataset_load(csv, &ds, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, ":3: unknown event type 'wishlist'") != NULL, "%s", err.msg);
	rm_tmp();
	csv = write_tmp("user,item,timestamp,type\na,x,1,not_interested\n");
	cr_assert_eq(tr_dataset_load(csv, &ds, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "no interactions") != NULL, "%s", err.msg);
}

/* A small world: items 0, 1 and 5 bought together by users 1-5 ("group A"), items 2-3 by
 * users 6-9 ("group B"), item 4 a filler; user 0 bought items 0 and 2, so items 1 and 3 are
 * both candidates for them. neg >= 0: user 0 is not interested in item neg. */
static void
world(tr_dataset *ds, int neg)
{
	int32_t u[64], it[64];
	double ts[64];
	float w[64];
	int n = 0;

#define ADD(uu, ii, ww)        \
	do {                   \
		u[n] = (uu);   \
		it[n] = (ii);  \
		ts[n] = n;     \
		w[n++] = (ww); \
	} while (0)
	ADD(0, 0, 1);
	ADD(0, 2, 1);
	for (int k = 1; k <= 5; k++) {
		ADD(k, 0, 1);
		ADD(k, 1, 1);
		ADD(k, 5, 1);
	}
	for (int k = 6; k <= 9; k++) {
		ADD(k, 2, 1);
		ADD(k, 3, 1);
	}
	ADD(9, 4, 1);
	ADD(8, 4, 1);
	if (neg >= 0)
		ADD(0, neg, -8);
#undef ADD
	tr_dataset_build_signed(ds, NULL, NULL, 10, 6, n, u, it, ts, w);
}

/* rank of item among all items by the model's score for user 0 (0 = best) */
static int
rank_of(const float *s, int32_t item)
{
	int r = 0;

	for (int j = 0; j < 6; j++)
		if (j != item && s[j] > s[item])
			r++;
	return r;
}

/* user 0 rejects item neg: item 1 (neg itself, or an item bought with it) moves below
 * item 3, lower than it ranked without the negative, and neg is never recommended */
static void
check_pushed_down(tr_kind kind, const tr_params *p, int neg)
{
	tr_dataset d0, d1;
	tr_model m0, m1;
	tr_error err;
	float s0[6], s1[6], sc[6], ws[8];
	int32_t out[6];
	int n;

	world(&d0, -1);
	world(&d1, neg);
	cr_assert_eq(tr_model_fit(kind, p, &d0, &m0, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(kind, p, &d1, &m1, &err), 0, "%s", err.msg);
	tr_stage1_score(&m0, &d0, 0, s0);
	tr_stage1_score(&m1, &d1, 0, s1);
	cr_assert(s1[1] < s1[3], "%s: with the negative: item1 %g item3 %g", tr_kind_name(kind),
	          s1[1], s1[3]);
	cr_assert(s1[1] - s1[3] < s0[1] - s0[3], "%s: margin %g -> %g", tr_kind_name(kind),
	          s0[1] - s0[3], s1[1] - s1[3]);
	cr_assert(rank_of(s1, 1) > rank_of(s0, 1), "%s: rank %d -> %d", tr_kind_name(kind),
	          rank_of(s0, 1), rank_of(s1, 1));
	cr_assert(tr_stage1_ws_size(&m1, 6) <= sizeof(ws));
	n = tr_stage1_recommend(&m1, &d1, 0, 6, out, sc, ws);
	for (int j = 0; j < n; j++)
		cr_assert_neq(out[j], neg, "%s recommended the rejected item", tr_kind_name(kind));
	tr_model_fini(&m0);
	tr_model_fini(&m1);
	tr_dataset_fini(&d0);
	tr_dataset_fini(&d1);
}

Test(events, negative_pushes_down_pop)
{
	tr_params p;

	tr_params_defaults(&p);
	p.nthreads = 1;
	check_pushed_down(TR_POP, &p, 1); /* its own count goes down */
}

Test(events, negative_pushes_down_itemknn)
{
	tr_params p;

	tr_params_defaults(&p);
	p.nthreads = 1;
	check_pushed_down(TR_ITEMKNN, &p, 5); /* items like the rejected one */
}

Test(events, negative_pushes_down_als)
{
	tr_params p;

	tr_params_defaults(&p);
	p.nthreads = 1;
	p.factors = 2; /* two groups, two factors: user 0's unseen items of each are near 0.5 */
	p.iterations = 15;
	p.reg = 2;
	p.alpha = 4;
	p.cg_steps = 0; /* exact solves: p = 0 with high confidence on the item itself */
	check_pushed_down(TR_ALS, &p, 1);
	check_pushed_down(TR_ALS, &p, 5); /* and on an item of the same group */
	p.cg_steps = 3;                   /* the conjugate-gradient path */
	check_pushed_down(TR_ALS, &p, 1);
}

Test(events, negative_pushes_down_ease)
{
	tr_params p;

	tr_params_defaults(&p);
	p.nthreads = 1;
	p.lambda = 1;
	check_pushed_down(TR_EASE, &p, 5);
}

Test(events, als_weighted_equals_binary_when_all_weights_are_one)
{
	int32_t u[6] = {0, 0, 1, 1, 2, 2}, it[6] = {0, 1, 1, 2, 0, 2};
	double ts[6] = {1, 2, 3, 4, 5, 6};
	float w[6] = {1, 1, 1, 1, 1, 1};
	tr_dataset a, b;
	tr_model ma, mb;
	tr_params p;
	tr_error err;

	tr_params_defaults(&p);
	p.nthreads = 1;
	p.factors = 3;
	p.iterations = 5;
	tr_dataset_build(&a, NULL, NULL, 3, 3, 6, u, it, ts);
	tr_dataset_build_signed(&b, NULL, NULL, 3, 3, 6, u, it, ts, w);
	cr_assert(tr_dataset_is_weighted(&b));
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &a, &ma, &err), 0);
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &b, &mb, &err), 0);
	for (int k = 0; k < 9; k++)
		cr_assert_float_eq(ma.als.U[k], mb.als.U[k], 1e-5);
	tr_model_fini(&ma);
	tr_model_fini(&mb);
	tr_dataset_fini(&a);
	tr_dataset_fini(&b);
}

Test(events, subset_keeps_negatives_up_to_the_cut)
{
	int32_t u[4] = {0, 0, 0, 0}, it[4] = {0, 1, 2, 3};
	double ts[4] = {1, 2, 3, 4};
	float w[4] = {1, -5, 1, -5}; /* negatives at t=2 (kept) and t=4 (after the cut) */
	unsigned char keep[2] = {1, 0};
	tr_dataset ds, sub;

	tr_dataset_build_signed(&ds, NULL, NULL, 1, 4, 4, u, it, ts, w);
	cr_assert_eq(ds.nnz, 2);
	cr_assert_eq(ds.n_neg, 2);
	tr_dataset_subset(&ds, keep, &sub); /* keeps item 0 (t=1) only */
	cr_assert_eq(sub.nnz, 1);
	cr_assert_eq(sub.n_neg, 0); /* t=2 > last kept t=1 */
	tr_dataset_fini(&sub);
	keep[1] = 1;
	tr_dataset_subset(&ds, keep, &sub);
	cr_assert_eq(sub.n_neg, 1);
	cr_assert_eq(sub.neg_items[0], 1);
	tr_dataset_fini(&sub);
	tr_dataset_fini(&ds);
}
