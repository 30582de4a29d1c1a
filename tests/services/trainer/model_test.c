#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "load.h"
#include "model.h"
#include "recommend.h"
#include "rs_err.h"

TestSuite(model, .fini = th_cleanup);

static const char TRAIN[] = "user,item,timestamp\n"
                            "a,x,1\na,y,2\na,z,3\n"
                            "b,x,1\nb,y,2\n"
                            "c,y,1\nc,w,2\nc,v,3\n"
                            "d,x,1\nd,v,2\n";

static void
roundtrip(tr_kind kind)
{
	const char *train = th_write_tmp(TRAIN), *dir = th_tmpdir();
	tr_dataset ds;
	tr_model m, l;
	tr_params p;
	tr_error err;
	int32_t users[3], a[3 * 5], b[3 * 5];
	int ca[3], cb[3];

	tr_params_defaults(&p);
	p.factors = 3;
	p.nthreads = 2;
	cr_assert_eq(tr_dataset_load(train, &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(kind, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&m, &ds, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_load(dir, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.kind, kind);
	cr_assert_eq(tr_model_check_data(&l, &ds, &err), 0, "%s", err.msg);
	users[0] = 0;
	users[1] = 2;
	users[2] = -1; /* unknown: popularity */
	cr_assert_eq(tr_recommend_batch(&m, &ds, users, 3, 5, a, ca, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_recommend_batch(&l, &ds, users, 3, 5, b, cb, &err), 0, "%s", err.msg);
	for (int u = 0; u < 3; u++) {
		cr_assert_eq(ca[u], cb[u]);
		for (int r = 0; r < ca[u]; r++)
			cr_assert_eq(a[u * 5 + r], b[u * 5 + r], "%s user %d rank %d",
			             tr_kind_name(kind), u, r);
	}
	/* user a (code 0) has x, y, z: only w and v remain */
	cr_assert_eq(ca[0], 2);
	for (int r = 0; r < ca[0]; r++)
		cr_assert(a[r] > 2, "train item %d recommended", a[r]);
	/* unknown user: most popular first (x and y have 3 users; x first by code) */
	cr_assert_eq(ca[2], 5);
	cr_assert_str_eq(tr_ids_name(ds.items, a[10]), "x");
	cr_assert_str_eq(tr_ids_name(ds.items, a[11]), "y");
	tr_model_fini(&m);
	tr_model_fini(&l);
	tr_dataset_fini(&ds);
}

Test(model, roundtrip_pop)
{
	roundtrip(TR_POP);
}
Test(model, roundtrip_itemknn)
{
	roundtrip(TR_ITEMKNN);
}
Test(model, roundtrip_als)
{
	roundtrip(TR_ALS);
}
Test(model, roundtrip_ease)
{
	roundtrip(TR_EASE);
}

Test(model, unknown_name_and_other_version_are_clear_errors)
{
	const char *train = th_write_tmp(TRAIN), *dir = th_tmpdir();
	tr_dataset ds, other;
	tr_model m, l;
	tr_params p;
	tr_error err;
	tr_kind k;
	char path[512], *text;
	FILE *f;
	long n;

	cr_assert_eq(tr_kind_parse("svd", &k, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "unknown model 'svd'") != NULL, "%s", err.msg);
	tr_params_defaults(&p);
	cr_assert_eq(tr_dataset_load(train, &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(TR_POP, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&m, &ds, dir, &err), 0, "%s", err.msg);
	/* another train.csv is refused */
	cr_assert_eq(tr_dataset_load(th_write_tmp("user,item\na,x\n"), &other, &err), 0);
	cr_assert_eq(tr_model_check_data(&m, &other, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "not the data the model was fitted on") != NULL, "%s", err.msg);
	/* bump format_version in the manifest */
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t) n + 16);
	cr_assert_eq(fread(text, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	char *v = strstr(text, "\"format_version\": 1");
	cr_assert_not_null(v);
	memcpy(v, "\"format_version\": 7", 19);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	free(text);
	cr_assert_eq(tr_model_load(dir, &l, &err), RS_EVERSION);
	cr_assert(strstr(err.msg, "version 7") != NULL, "%s", err.msg);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
	tr_dataset_fini(&other);
}
