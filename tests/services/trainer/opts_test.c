/* opts: the option table parser of rs-train, driven through tr_opts_parse and a real command
 * (tr_cmd_synth) with stdout and stderr captured; expectations are written out by hand. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "opts.h"

TestSuite(opts);

typedef struct captured {
	int rv;
	char out[8192], err[8192];
} captured;

/* cap_read: what fd-backed file f received, into buf */
static void
cap_read(FILE *f, char *buf, size_t n)
{
	size_t got;

	rewind(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

/* cap_run: fn(argc, argv) with stdout and stderr going to temp files */
static void
cap_run(captured *c, int (*fn)(int, char **, void *), void *ctx, int argc, char **argv)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int so, se;

	cr_assert(o != NULL && e != NULL);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	c->rv = fn(argc, argv, ctx);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	cap_read(o, c->out, sizeof(c->out));
	cap_read(e, c->err, sizeof(c->err));
}

/* the table under test: one entry of each kind */
typedef struct vals {
	const char *name;
	char label[8];
	int n, flag, first, seen, fn_calls;
	double x;
	uint64_t seed;
} vals;

static int
opt_hook(const char *cmd, const tr_opt *o, const char *arg)
{
	vals *v = o->dst;
	if (strcmp(arg, "no") == 0)
		return tr_opts_usage_error(cmd, "--hook: no is refused");
	v->fn_calls++;
	return 0;
}

static int
run_table(int argc, char **argv, void *ctx)
{
	vals *v = ctx;
	tr_opt t[] = {
	        TR_OPT_HEAD("the first group:"),
	        TR_OPT_STR("name", &v->name, "NAME", "a string"),
	        TR_OPT_CHARS("label", v->label, "L", "a copy, truncated"),
	        TR_OPT_INT("n", &v->n, 1, 100, "N", "a count [5]"),
	        TR_OPT_DBL("x", &v->x, 0.5, 2.5, "X", "a fraction [1]"),
	        TR_OPT_U64("seed", &v->seed, 0, 1e15, "N", "a seed [0]"),
	        TR_OPT_FLAG("flag", &v->flag, "a switch"),
	        TR_OPT_FN("hook", opt_hook, v, "V", "a callback\nwith a second line"),
	        TR_OPT_INT("n", &v->n, 1000, 2000, "N", "shadowed: the first --n wins"),
	};
	tr_opts_spec spec = {"demo", "usage: rs-train demo [options]\n", t,
	                     sizeof(t) / sizeof(t[0])};

	tr_opts_seen(t, spec.n, "x", &v->seen);
	return tr_opts_parse(&spec, argc, argv, &v->first);
}

static void
demo(captured *c, vals *v, int argc, char **argv)
{
	memset(v, 0, sizeof(*v));
	v->n = 5;
	cap_run(c, run_table, v, argc, argv);
}

Test(opts, stores_every_kind)
{
	char *argv[] = {"demo", "--name", "abc", "--label", "0123456789", "--n", "42",   "--x",
	                "2.5",  "--seed", "7",   "--flag",  "--hook",     "yes", "rest", NULL};
	captured c;
	vals v;

	demo(&c, &v, 15, argv);
	cr_assert_eq(c.rv, -1, "%s", c.err);
	cr_assert_str_eq(v.name, "abc");
	cr_assert_str_eq(v.label, "0123456");
	cr_assert_eq(v.n, 42);
	cr_assert_eq(v.x, 2.5);
	cr_assert_eq(v.seed, 7);
	cr_assert_eq(v.flag, 1);
	cr_assert_eq(v.seen, 1);
	cr_assert_eq(v.fn_calls, 1);
	cr_assert_eq(v.first, 14);
	cr_assert_str_eq(argv[v.first], "rest");
	cr_assert_str_eq(c.out, "");
	cr_assert_str_eq(c.err, "");
}

Test(opts, not_a_number)
{
	char *argv[] = {"demo", "--n", "12abc", NULL};
	captured c;
	vals v;

	demo(&c, &v, 3, argv);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "rs-train demo: --n: '12abc' is not a number in [1, 100] (see "
	                        "rs-train demo --help)\n");
	cr_assert_eq(v.n, 5, "a refused value is not stored");
}

Test(opts, out_of_range)
{
	char *argv[] = {"demo", "--x", "0.25", NULL};
	char *argv2[] = {"demo", "--n", "101", NULL};
	captured c;
	vals v;

	demo(&c, &v, 3, argv);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "rs-train demo: --x: '0.25' is not a number in [0.5, 2.5] (see "
	                        "rs-train demo --help)\n");
	cr_assert_eq(v.seen, 0);
	demo(&c, &v, 3, argv2);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "rs-train demo: --n: '101' is not a number in [1, 100] (see "
	                        "rs-train demo --help)\n");
}

Test(opts, unknown_option)
{
	char *argv[] = {"demo", "--bogus", NULL};
	captured c;
	vals v;

	demo(&c, &v, 2, argv);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "demo: unrecognized option '--bogus'\n"
	                        "rs-train demo: unknown option (see rs-train demo --help)\n");
}

Test(opts, missing_value)
{
	char *argv[] = {"demo", "--flag", "--name", NULL};
	captured c;
	vals v;

	demo(&c, &v, 3, argv);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "demo: option '--name' requires an argument\n"
	                        "rs-train demo: unknown option (see rs-train demo --help)\n");
}

Test(opts, callback_refuses)
{
	char *argv[] = {"demo", "--hook", "no", NULL};
	captured c;
	vals v;

	demo(&c, &v, 3, argv);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err,
	                 "rs-train demo: --hook: no is refused (see rs-train demo --help)\n");
	cr_assert_eq(v.fn_calls, 0);
}

Test(opts, help_lists_the_table)
{
	char *argv[] = {"demo", "--help", "--bogus", NULL};
	captured c;
	vals v;

	demo(&c, &v, 3, argv);
	cr_assert_eq(c.rv, 0);
	cr_assert_str_eq(c.err, "");
	cr_assert_str_eq(c.out, "usage: rs-train demo [options]\n"
	                        "\n"
	                        "options:\n"
	                        "the first group:\n"
	                        "  --name NAME            a string\n"
	                        "  --label L              a copy, truncated\n"
	                        "  --n N                  a count [5]\n"
	                        "  --x X                  a fraction [1]\n"
	                        "  --seed N               a seed [0]\n"
	                        "  --flag                 a switch\n"
	                        "  --hook V               a callback\n"
	                        "                         with a second line\n"
	                        "  --help                 this text\n");
}

static int
run_synth(int argc, char **argv, void *ctx)
{
	(void) ctx;
	return tr_cmd_synth(argc, argv);
}

/* a real command: every option it accepts is in its --help, and its bounds hold */
Test(opts, synth_help_and_bounds)
{
	static const char *names[] = {"--out FILE", "--n-users N", "--n-items N", "--nnz N",
	                              "--zipf S",   "--seed N",    "--help"};
	char *help[] = {"synth", "--help", NULL};
	char *bad[] = {"synth", "--zipf", "10.5", NULL};
	captured c;

	cap_run(&c, run_synth, NULL, 2, help);
	cr_assert_eq(c.rv, 0);
	cr_assert(strncmp(c.out, "usage: rs-train synth --out train.csv", 37) == 0, "%s", c.out);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_not_null(strstr(c.out, names[i]), "%s missing in:\n%s", names[i], c.out);
	cap_run(&c, run_synth, NULL, 3, bad);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "rs-train synth: --zipf: '10.5' is not a number in [0, 10] (see "
	                        "rs-train synth --help)\n");
}

/* a command's own wording: on_error gets the option and value, or NULL and the word */
static int
own_error(const tr_opts_spec *s, const tr_opt *o, const char *arg)
{
	(void) s;
	fprintf(stderr, "own: %s=%s\n", o != NULL ? o->name : "?", arg);
	return 3;
}

static int
run_long(int argc, char **argv, void *ctx)
{
	long *days = ctx;
	int first;
	const tr_opt t[] = {TR_OPT_LONG("days", days, 1, 60, "D", "days [7]")};
	const tr_opts_spec spec = {"demo", "usage\n", t, 1, own_error, 1};

	return tr_opts_parse(&spec, argc, argv, &first);
}

Test(opts, integers_and_own_errors)
{
	char *ok[] = {"demo", "--days", "60", NULL};
	char *frac[] = {"demo", "--days", "1.5", NULL};
	char *unknown[] = {"demo", "--weeks", "2", NULL};
	long days = 7;
	captured c;

	cap_run(&c, run_long, &days, 3, ok);
	cr_assert_eq(c.rv, -1);
	cr_assert_eq(days, 60);
	cap_run(&c, run_long, &days, 3, frac);
	cr_assert_eq(c.rv, 3);
	cr_assert_str_eq(c.err, "own: days=1.5\n");
	cr_assert_eq(days, 60);
	cap_run(&c, run_long, &days, 3, unknown);
	cr_assert_eq(c.rv, 3);
	cr_assert_str_eq(c.err, "own: ?=--weeks\n", "getopt itself stays silent");
}

static int
run_all(int argc, char **argv, void *ctx)
{
	long *days = ctx;
	const tr_opt t[] = {TR_OPT_LONG("days", days, 1, 60, "D", "days [7]")};
	const tr_opts_spec spec = {"demo", "usage\n", t, 1};

	return tr_opts_parse_all(&spec, argc, argv);
}

Test(opts, parse_all_refuses_a_left_over_argument)
{
	char *ok[] = {"demo", "--days", "9", NULL};
	char *extra[] = {"demo", "--days", "9", "stray", NULL};
	long days = 7;
	captured c;

	cap_run(&c, run_all, &days, 3, ok);
	cr_assert_eq(c.rv, -1);
	cr_assert_eq(days, 9);
	cap_run(&c, run_all, &days, 4, extra);
	cr_assert_eq(c.rv, 2);
	cr_assert_str_eq(c.err, "rs-train demo: unexpected argument (see rs-train demo --help)\n");
}
