/* opts: one table of options per rs-train command, parsed by one function that also prints
 * the command's usage. Each entry names a long option, how its value is stored (a string, a
 * flag, a number within bounds into an int/double/uint64_t field, a char buffer, or a
 * callback for the few special ones) and its help line. Tables are usually built on the
 * stack of the command with pointers to the command's own variables.
 *
 * Errors follow the trainer's convention: "rs-train CMD: --x: 'v' is not a number in
 * [lo, hi] (see rs-train CMD --help)" on stderr and exit status 2. */
#ifndef TR_OPTS_H
#define TR_OPTS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef enum tr_opt_kind {
	TR_OPTK_HEAD,  /* no option: a heading line in the usage */
	TR_OPTK_STR,   /* const char **dst = the argument (borrowed from argv) */
	TR_OPTK_CHARS, /* char dst[size]: a copy of the argument (truncated to fit) */
	TR_OPTK_SET,   /* no value: int *dst = (int) lo */
	TR_OPTK_INT,   /* int *dst = (int) number in [lo, hi] */
	TR_OPTK_DBL,   /* double *dst = number in [lo, hi] */
	TR_OPTK_U64,   /* uint64_t *dst = (uint64_t) number in [lo, hi] */
	TR_OPTK_LONG,  /* long *dst = base-10 integer in [lo, hi] */
	TR_OPTK_FN,    /* fn(cmd, the entry, argument or NULL when arg is NULL) */
} tr_opt_kind;

struct tr_opt;
/* tr_opt_fn: store arg (NULL for an option without a value) into o->dst; 0, or 2 after
 * printing the usage error (tr_opts_usage_error). */
typedef int (*tr_opt_fn)(const char *cmd, const struct tr_opt *o, const char *arg);

typedef struct tr_opt {
	const char *name; /* long option without "--"; the first entry of a name wins */
	tr_opt_kind kind;
	void *dst;
	double lo, hi; /* numbers: the bounds; SET: lo is the value stored */
	size_t size;   /* CHARS: the size of dst */
	int *seen;     /* optional: set to 1 when the option is given */
	tr_opt_fn fn;
	const char *arg;  /* the value's name in the usage ("N", "FILE"); NULL = no value */
	const char *help; /* help text; '\n' continues on an indented line */
} tr_opt;

#define TR_OPT_HEAD(text)                            \
	{                                            \
		.kind = TR_OPTK_HEAD, .help = (text) \
	}
#define TR_OPT_STR(n, d, a, h)                                                        \
	{                                                                             \
		.name = (n), .kind = TR_OPTK_STR, .dst = (d), .arg = (a), .help = (h) \
	}
#define TR_OPT_CHARS(n, d, a, h)                                                               \
	{                                                                                      \
		.name = (n), .kind = TR_OPTK_CHARS, .dst = (d), .size = sizeof(d), .arg = (a), \
		.help = (h)                                                                    \
	}
#define TR_OPT_FLAG(n, d, h)                                                       \
	{                                                                          \
		.name = (n), .kind = TR_OPTK_SET, .dst = (d), .lo = 1, .help = (h) \
	}
#define TR_OPT_SETV(n, d, v, h)                                                      \
	{                                                                            \
		.name = (n), .kind = TR_OPTK_SET, .dst = (d), .lo = (v), .help = (h) \
	}
#define TR_OPT_INT(n, d, l, u, a, h)                                                            \
	{                                                                                       \
		.name = (n), .kind = TR_OPTK_INT, .dst = (d), .lo = (l), .hi = (u), .arg = (a), \
		.help = (h)                                                                     \
	}
#define TR_OPT_DBL(n, d, l, u, a, h)                                                            \
	{                                                                                       \
		.name = (n), .kind = TR_OPTK_DBL, .dst = (d), .lo = (l), .hi = (u), .arg = (a), \
		.help = (h)                                                                     \
	}
#define TR_OPT_U64(n, d, l, u, a, h)                                                            \
	{                                                                                       \
		.name = (n), .kind = TR_OPTK_U64, .dst = (d), .lo = (l), .hi = (u), .arg = (a), \
		.help = (h)                                                                     \
	}
#define TR_OPT_LONG(n, d, l, u, a, h)                                                            \
	{                                                                                        \
		.name = (n), .kind = TR_OPTK_LONG, .dst = (d), .lo = (l), .hi = (u), .arg = (a), \
		.help = (h)                                                                      \
	}
#define TR_OPT_FN(n, f, d, a, h)                                                                \
	{                                                                                       \
		.name = (n), .kind = TR_OPTK_FN, .fn = (f), .dst = (d), .arg = (a), .help = (h) \
	}

/* at most this many entries in one command's table (a larger table aborts: a program bug) */
#define TR_OPTS_MAX 96

typedef struct tr_opts_spec {
	const char *cmd;   /* "fit": messages say "rs-train fit: ..." */
	const char *usage; /* synopsis and description, printed before the options */
	const tr_opt *opts;
	size_t n;
	/* optional: the command's own usage error: o is the option with the bad value arg, or
	 * NULL for an unknown option or a missing value (arg = the word). Returns the exit code. */
	int (*on_error)(const struct tr_opts_spec *s, const struct tr_opt *o, const char *arg);
	int quiet_getopt; /* 1: getopt prints nothing about unknown options (on_error does) */
	void *ctx;        /* optional: the command's own, for on_error */
} tr_opts_spec;

/* tr_opts_parse: argv (argv[0] = the command name) against s's table; --help is implied.
 * Returns -1 when the command goes on (*first_arg = index of the first argument that is not
 * an option), 0 after --help (usage on stdout), 2 after a usage error on stderr: a bad or
 * out-of-range number, an unknown option or a missing value (getopt names the option). */
int tr_opts_parse(const tr_opts_spec *s, int argc, char **argv, int *first_arg);

/* tr_opts_parse_all: tr_opts_parse for a command that takes nothing but options: an argument
 * left over is a usage error ("unexpected argument", 2). */
int tr_opts_parse_all(const tr_opts_spec *s, int argc, char **argv);

/* tr_opts_seen: the entries of t[0..n) named name set *seen when given (a table's literal
 * cannot name it through the TR_OPT_* macros) */
void tr_opts_seen(tr_opt *t, size_t n, const char *name, int *seen);

/* tr_opts_usage: s->usage, then "options:" and one line per entry of the table. */
void tr_opts_usage(const tr_opts_spec *s, FILE *f);

/* tr_opts_usage_error: "rs-train CMD: MESSAGE (see rs-train CMD --help)" on stderr; returns 2 */
int tr_opts_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* tr_parse_double: whole-string number parse (option values, CSV fields); 0 or RS_EINVAL. */
int tr_parse_double(const char *s, double *out);

/* tr_opts_number: s as a number in [lo, hi] into *out; else the usage error naming the option
 * and the range (returns 2). */
int tr_opts_number(const char *cmd, const char *name, const char *s, double lo, double hi,
                   double *out);

#endif
