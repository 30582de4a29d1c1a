#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "split.h"

TestSuite(split, .fini = th_cleanup);

static char *
slurp(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t) n + 1);
	cr_assert_eq(fread(s, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	return s;
}

Test(split, python_float_repr)
{
	char b[64];
	struct {
		double v;
		const char *want;
	} cases[] = {{1.5, "1.5"},     {881250949.0, "881250949.0"},
	             {1e16, "1e+16"},  {1e-4, "0.0001"},
	             {1e-5, "1e-05"},  {0.1 + 0.2, "0.30000000000000004"},
	             {-2.25, "-2.25"}, {123456.789, "123456.789"}};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		tr_split_format_ts(cases[k].v, 0, b, sizeof(b));
		cr_assert_str_eq(b, cases[k].want);
	}
	tr_split_format_ts(42, 1, b, sizeof(b));
	cr_assert_str_eq(b, "42");
}

/* u.data-like input (tab, no header: user item rating time). User 1 has 6 rows (one
 * duplicate of item 10, the later copy dropped) -> 5 -> floor(0.2*5+0.5) = 1 test row;
 * user 2 has 4 rows (< 5): all train (and makes item 14 warm); user 3 has 5 rows, its last item 99
 * is cold. */
Test(split, temporal_user_by_hand)
{
	const char *in = th_write_tmp("1\t10\t5\t100\n1\t11\t3\t101\n1\t12\t4\t102\n"
	                              "1\t10\t1\t150\n1\t13\t2\t103\n1\t14\t5\t104\n"
	                              "2\t10\t5\t200\n2\t11\t5\t201\n2\t12\t5\t202\n2\t14\t5\t203\n"
	                              "3\t10\t4\t300\n3\t11\t4\t301\n3\t12\t4\t302\n"
	                              "3\t13\t4\t303\n3\t99\t4\t304\n");
	const char *dir = th_tmpdir();
	tr_split_opts o;
	tr_error err;
	char *train, *test;

	tr_split_opts_defaults(&o);
	o.input = in;
	o.out_dir = dir;
	o.format = "ml100k";
	o.quiet = 1;
	cr_assert_eq(tr_split_run(&o, &err), 0, "%s", err.msg);
	train = slurp(dir, "train.csv");
	test = slurp(dir, "test.csv");
	cr_assert_str_eq(test, "user,item,timestamp\n1,14,104\n");
	cr_assert_str_eq(train, "user,item,timestamp\n"
	                        "1,10,100\n1,11,101\n1,12,102\n1,13,103\n"
	                        "2,10,200\n2,11,201\n2,12,202\n2,14,203\n"
	                        "3,10,300\n3,11,301\n3,12,302\n3,13,303\n");
	free(train);
	free(test);
	/* leave-one-out with --keep-cold keeps user 3's cold item */
	o.protocol = "leave-one-out";
	o.keep_cold = 1;
	cr_assert_eq(tr_split_run(&o, &err), 0, "%s", err.msg);
	test = slurp(dir, "test.csv");
	cr_assert_str_eq(test, "user,item,timestamp\n1,14,104\n3,99,304\n");
	free(test);
}

Test(split, seq_format_and_errors)
{
	const char *in = th_write_tmp("a x y z w v\nb x y v\n");
	const char *dir = th_tmpdir();
	tr_split_opts o;
	tr_error err;
	char *test;

	tr_split_opts_defaults(&o);
	o.input = in;
	o.out_dir = dir;
	o.format = "seq";
	o.quiet = 1;
	o.protocol = "leave-one-out";
	cr_assert_eq(tr_split_run(&o, &err), 0, "%s", err.msg);
	test = slurp(dir, "test.csv");
	cr_assert_str_eq(test, "user,item,timestamp\na,v,4\n");
	free(test);
	o.protocol = "by-moon-phase";
	cr_assert_neq(tr_split_run(&o, &err), 0);
	cr_assert(strstr(err.msg, "unknown protocol") != NULL, "%s", err.msg);
}
