/* opts: the option tables of the rs-train commands (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

#define OPTS_HELP_VAL 1 /* getopt's value for --help; entry i has 1000 + i */

int
tr_opts_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rs-train %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see rs-train %s --help)\n", cmd);
	return 2;
}

int
tr_parse_double(const char *s, double *out)
{
	char *e;
	double v;

	if (*s == '\0')
		return RS_EINVAL;
	errno = 0;
	v = strtod(s, &e);
	if (*e != '\0' || errno == ERANGE)
		return RS_EINVAL;
	*out = v;
	return 0;
}

int
tr_opts_number(const char *cmd, const char *name, const char *s, double lo, double hi, double *out)
{
	if (tr_parse_double(s, out) != 0 || *out < lo || *out > hi)
		return tr_opts_usage_error(cmd, "--%s: '%s' is not a number in [%g, %g]", name, s,
		                           lo, hi);
	return 0;
}

/* opts_find: the first entry named name, or NULL */
static const tr_opt *
opts_find(const tr_opts_spec *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->opts[i].kind != TR_OPTK_HEAD && strcmp(s->opts[i].name, name) == 0)
			return &s->opts[i];
	return NULL;
}

void
tr_opts_seen(tr_opt *t, size_t n, const char *name, int *seen)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].kind != TR_OPTK_HEAD && strcmp(t[i].name, name) == 0)
			t[i].seen = seen;
}

/* opts_longopts: getopt_long's table for s (first entry of each name, then --help) */
static void
opts_longopts(const tr_opts_spec *s, struct option *lo)
{
	size_t n = 0;

	if (s->n > TR_OPTS_MAX)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		const tr_opt *o = &s->opts[i];
		if (o->kind == TR_OPTK_HEAD || opts_find(s, o->name) != o)
			continue;
		lo[n++] = (struct option){o->name, o->arg != NULL ? required_argument : no_argument,
		                          NULL, 1000 + (int) i};
	}
	lo[n++] = (struct option){"help", no_argument, NULL, OPTS_HELP_VAL};
	lo[n] = (struct option){NULL, 0, NULL, 0};
}

/* opts_integer: s as a whole base-10 long in [lo, hi] */
static int
opts_integer(const char *s, double lo, double hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s == '\0' || *end != '\0' || errno != 0 || (double) *out < lo || (double) *out > hi
	               ? -1
	               : 0;
}

/* opts_value: a number option's value into *v / *l; 0, or the usage error's exit code */
static int
opts_value(const tr_opts_spec *s, const tr_opt *o, const char *arg, double *v, long *l)
{
	if (o->kind == TR_OPTK_LONG) {
		if (opts_integer(arg, o->lo, o->hi, l) == 0)
			return 0;
	} else if (tr_parse_double(arg, v) == 0 && *v >= o->lo && *v <= o->hi) {
		return 0;
	}
	if (s->on_error != NULL)
		return s->on_error(s, o, arg);
	return tr_opts_usage_error(s->cmd, "--%s: '%s' is not a number in [%g, %g]", o->name, arg,
	                           o->lo, o->hi);
}

/* opts_store: one option's value into its destination; 0 or 2 (usage error printed) */
static int
opts_store(const tr_opts_spec *s, const tr_opt *o, const char *arg)
{
	double v = 0;
	long l = 0;
	int rv;

	if ((o->kind == TR_OPTK_INT || o->kind == TR_OPTK_DBL || o->kind == TR_OPTK_U64 ||
	     o->kind == TR_OPTK_LONG) &&
	    (rv = opts_value(s, o, arg, &v, &l)) != 0)
		return rv;
	switch (o->kind) {
	case TR_OPTK_STR:
		*(const char **) o->dst = arg;
		break;
	case TR_OPTK_CHARS:
		snprintf(o->dst, o->size, "%s", arg);
		break;
	case TR_OPTK_SET:
		*(int *) o->dst = (int) o->lo;
		break;
	case TR_OPTK_INT:
		*(int *) o->dst = (int) v;
		break;
	case TR_OPTK_DBL:
		*(double *) o->dst = v;
		break;
	case TR_OPTK_U64:
		*(uint64_t *) o->dst = (uint64_t) v;
		break;
	case TR_OPTK_LONG:
		*(long *) o->dst = l;
		break;
	case TR_OPTK_FN:
		if (o->fn(s->cmd, o, arg) != 0)
			return 2;
		break;
	case TR_OPTK_HEAD:
		break;
	}
	if (o->seen != NULL)
		*o->seen = 1;
	return 0;
}

int
tr_opts_parse(const tr_opts_spec *s, int argc, char **argv, int *first_arg)
{
	struct option lo[TR_OPTS_MAX + 2];
	int c;

	int rv = -1;

	opts_longopts(s, lo);
	optind = 1;
	opterr = !s->quiet_getopt;
	while (rv == -1 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == OPTS_HELP_VAL) {
			tr_opts_usage(s, stdout);
			rv = 0;
		} else if (c < 1000 || (size_t) (c - 1000) >= s->n) {
			rv = s->on_error != NULL ? s->on_error(s, NULL, argv[optind - 1])
			                         : tr_opts_usage_error(s->cmd, "unknown option");
		} else if ((c = opts_store(s, &s->opts[c - 1000], optarg)) != 0) {
			rv = c;
		}
	}
	opterr = 1;
	*first_arg = optind;
	return rv;
}

int
tr_opts_parse_all(const tr_opts_spec *s, int argc, char **argv)
{
	int rv, first;

	if ((rv = tr_opts_parse(s, argc, argv, &first)) != -1)
		return rv;
	return first < argc ? tr_opts_usage_error(s->cmd, "unexpected argument") : -1;
}

/* opts_usage_line: "  --name ARG   help", continuation lines of help indented */
static void
opts_usage_line(const tr_opt *o, FILE *f)
{
	char head[64];
	const char *h = o->help, *nl;

	snprintf(head, sizeof(head), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, "  %-22s", head);
	if (strlen(head) > 22)
		fprintf(f, "\n  %-22s", "");
	while ((nl = strchr(h, '\n')) != NULL) {
		fprintf(f, " %.*s\n  %-22s", (int) (nl - h), h, "");
		h = nl + 1;
	}
	fprintf(f, " %s\n", h);
}

void
tr_opts_usage(const tr_opts_spec *s, FILE *f)
{
	fputs(s->usage, f);
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < s->n; i++) {
		const tr_opt *o = &s->opts[i];
		if (o->kind == TR_OPTK_HEAD)
			fprintf(f, "%s\n", o->help);
		else if (opts_find(s, o->name) == o)
			opts_usage_line(o, f);
	}
	fprintf(f, "  %-22s this text\n", "--help");
}
