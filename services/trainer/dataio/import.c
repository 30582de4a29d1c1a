/* rs-train import: public dataset formats into PostgreSQL (and/or CSV), see README.md. */
#include "dataio.h"
#include "csvr.h"
#include "dio.h"
#include "opts.h"
#include "rs_err.h"
#include "rs_strmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct imp_opts {
	const char *format, *input, *catalog, *dsn, *out, *map, *ts_unit, *ids;
	char delim;
	int header;
	int default_type;
	int64_t start_s;
	int truncate;
} imp_opts;

typedef struct imp_ctx {
	const imp_opts *o;
	dio_sink *sink;
	rs_strmap users, items; /* --ids map: token -> id - 1 */
	int map_ids;
	char err[400];
	uint64_t skipped;
} imp_ctx;

static int
imp_error(imp_ctx *c, const char *path, long line, const char *what)
{
	snprintf(c->err, sizeof(c->err), "%s:%ld: %s", path, line, what);
	return RS_EINVAL;
}

/* Resolves a user or item token to an id (keep: positive integer; map: dense, emitting a row
 * carrying the token as external_id the first time). 0 on success. */
static int
imp_resolve(imp_ctx *c, const char *tok, int is_item, int64_t *out)
{
	if (!c->map_ids)
		return dio_parse_id(tok, out) == 0 ? 0 : RS_EINVAL;
	int fresh;
	int64_t id = rs_strmap_intern(is_item ? &c->items : &c->users, tok, strlen(tok), &fresh);
	if (id < 0)
		return (int) id;
	id++; /* dense ids 1..N */
	if (fresh) {
		int rv;
		if (is_item) {
			dio_item it = {.id = id,
			               .external_id = tok,
			               .title = "",
			               .category = "",
			               .brand = "",
			               .price = -1,
			               .in_stock = 1};
			rv = dio_sink_item(c->sink, &it);
		} else {
			dio_user u = {.id = id, .external_id = tok};
			rv = dio_sink_user(c->sink, &u);
		}
		if (rv != 0)
			return rv;
	}
	*out = id;
	return 0;
}

static int
imp_type_parse(const char *s)
{
	static const struct {
		const char *name;
		int type;
	} names[] = {{"view", 1},   {"click", 2},    {"add_to_cart", 3}, {"addtocart", 3},
	             {"cart", 3},   {"purchase", 4}, {"transaction", 4}, {"buy", 4},
	             {"order", 4},  {"rating", 5},   {"rate", 5},        {"not_interested", 6},
	             {"dislike", 6}};
	int64_t n;
	if (dio_parse_id(s, &n) == 0 && n >= 1 && n <= 6)
		return (int) n;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].type;
	return 0;
}

/* The latest timestamp a file may carry: 9999-12-31T23:59:59.999Z in unix ms. */
#define IMP_TS_MAX_MS 253402300799999.0

/* "s" seconds, "ms" milliseconds, "iso" 2024-01-02[T ]03:04:05[Z]. -1 on error (also for a
 * number that is not finite, negative or after IMP_TS_MAX_MS). */
static int64_t
imp_ts_parse(const char *s, const char *unit)
{
	char *end;
	if (strcmp(unit, "iso") == 0) {
		struct tm tm = {0};
		const char *p = strptime(s, "%Y-%m-%d", &tm);
		if (p == NULL)
			return -1;
		if (*p == 'T' || *p == ' ')
			p = strptime(p + 1, "%H:%M:%S", &tm);
		if (p == NULL)
			return -1;
		return (int64_t) timegm(&tm) * 1000;
	}
	double v = strtod(s, &end);
	double ms = strcmp(unit, "ms") == 0 ? v : v * 1000.0;
	/* a NaN fails both comparisons; a larger value would not fit the int64 conversion */
	if (*s == '\0' || *end != '\0' || !(v >= 0) || !(ms <= IMP_TS_MAX_MS))
		return -1;
	return (int64_t) ms;
}

/* Latin-1 to UTF-8 (u.item is Latin-1). */
static void
imp_latin1(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *) in; *p && o + 3 < n; p++) {
		if (*p < 0x80) {
			out[o++] = (char) *p;
		} else {
			out[o++] = (char) (0xc0 | (*p >> 6));
			out[o++] = (char) (0x80 | (*p & 0x3f));
		}
	}
	out[o] = '\0';
}

static void
imp_json_str(char *out, size_t n, size_t *o, const char *s)
{
	if (*o + 2 >= n)
		return;
	out[(*o)++] = '"';
	for (; *s && *o + 8 < n; s++) {
		if (*s == '"' || *s == '\\')
			out[(*o)++] = '\\';
		if ((unsigned char) *s < 0x20)
			continue;
		out[(*o)++] = *s;
	}
	out[(*o)++] = '"';
	out[*o] = '\0';
}

/* ---- MovieLens ---- */

static const char *const ML100K_GENRES[19] = {
        "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
        "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
        "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};

/* Emits one movie: category Movies/<first genre>, attributes {"genres": [...]}. */
static int
imp_movie(imp_ctx *c, int64_t id, const char *title, const char *const *genres, size_t ng)
{
	char cat[128], attrs[1024];
	size_t o = 0;
	snprintf(cat, sizeof(cat), "Movies/%s", ng > 0 ? genres[0] : "Other");
	o += (size_t) snprintf(attrs, sizeof(attrs), "{\"genres\": [");
	for (size_t g = 0; g < ng; g++) {
		if (g > 0 && o + 2 < sizeof(attrs))
			attrs[o++] = ',';
		imp_json_str(attrs, sizeof(attrs), &o, genres[g]);
	}
	snprintf(attrs + o, sizeof(attrs) - o, "]}");
	dio_item it = {.id = id,
	               .title = title,
	               .category = cat,
	               .brand = "",
	               .price = -1,
	               .in_stock = 1,
	               .attributes = attrs};
	return dio_sink_item(c->sink, &it);
}

/* One record of an input file to an importer; 0 to go on, else the error that stops the file
 * (c->err set). */
typedef int (*imp_row_fn)(imp_ctx *c, const char *path, const tr_csvr *f, void *arg);

/* imp_each: every record of path (delim as in tr_csv_dialect, RFC 4180 quotes) to row. */
static int
imp_each(imp_ctx *c, const char *path, const char *delim, imp_row_fn row, void *arg)
{
	const tr_csv_dialect d = {.delim = delim, .quotes = 1};
	tr_csvr f;
	int rv = 0, r;

	if (tr_csvr_open(&f, path, &d) != 0) {
		snprintf(c->err, sizeof(c->err), "cannot read %s", path);
		return RS_EIO;
	}
	while ((r = tr_csvr_next(&f)) == 1)
		if ((rv = row(c, path, &f, arg)) != 0)
			break;
	if (rv == 0 && r == RS_EINVAL)
		rv = imp_error(c, path, f.lineno, "unterminated quote");
	else if (rv == 0 && r < 0) {
		rv = r;
		snprintf(c->err, sizeof(c->err), "%s: %s", path, rs_strerror(r));
	}
	tr_csvr_close(&f);
	return rv;
}

/* u.item (id|title|date|video|url|19 genre flags, Latin-1) or movies.csv
 * (movieId,title,genres); arg: an int, 1 for u.item */
static int
imp_ml_catalog_row(imp_ctx *c, const char *path, const tr_csvr *f, void *arg)
{
	int v100k = *(const int *) arg;
	const char *genres[20];
	size_t ng = 0;
	char title[512];
	int64_t id;

	if (!v100k && f->records == 1 && strcasecmp(f->fields[0], "movieId") == 0)
		return 0;
	if (f->nfields < (v100k ? 24u : 3u) || dio_parse_id(f->fields[0], &id) != 0)
		return imp_error(c, path, f->lineno,
		                 v100k ? "want id|title|date|video|url|19 genre flags"
		                       : "want movieId,title,genres");
	if (v100k) {
		imp_latin1(f->fields[1], title, sizeof(title));
		for (int g = 0; g < 19; g++)
			if (strcmp(f->fields[5 + g], "1") == 0 && g > 0)
				genres[ng++] = ML100K_GENRES[g];
	} else {
		char *save = NULL;
		snprintf(title, sizeof(title), "%s", f->fields[1]);
		for (char *tok = strtok_r(f->fields[2], "|", &save); tok && ng < 20;
		     tok = strtok_r(NULL, "|", &save))
			if (strcmp(tok, "(no genres listed)") != 0)
				genres[ng++] = tok;
	}
	return imp_movie(c, id, title, genres, ng);
}

/* u.data (user, item, rating, unix s; tabs) or ratings.csv (userId,movieId,rating,timestamp);
 * arg: an int, 1 for u.data */
static int
imp_ml_ratings_row(imp_ctx *c, const char *path, const tr_csvr *f, void *arg)
{
	int v100k = *(const int *) arg;
	int64_t u, i, ts;
	double val;
	char *end, eid[96];

	if (f->records == 1 && !v100k && strcasecmp(f->fields[0], "userId") == 0)
		return 0;
	if (f->nfields < 4 || dio_parse_id(f->fields[0], &u) != 0 ||
	    dio_parse_id(f->fields[1], &i) != 0 || (val = strtod(f->fields[2], &end), *end) ||
	    (ts = imp_ts_parse(f->fields[3], "s")) < 0)
		return imp_error(c, path, f->lineno, "want user, item, rating, unix seconds");
	snprintf(eid, sizeof(eid), "ml:%" PRId64 ":%" PRId64 ":%s", u, i, f->fields[3]);
	dio_event e = {.event_id = eid,
	               .user_id = u,
	               .item_id = i,
	               .type = 5,
	               .has_value = 1,
	               .value = val,
	               .ts_ms = ts};
	return dio_sink_event(c->sink, &e);
}

/* ---- RetailRocket: timestamp,visitorid,event,itemid,transactionid (ms) ---- */

static int
imp_retailrocket_row(imp_ctx *c, const char *path, const tr_csvr *f, void *arg)
{
	int64_t ts, visitor, item;
	char eid[160];

	(void) arg;
	if (f->records == 1 && strcasecmp(f->fields[0], "timestamp") == 0)
		return 0;
	int type = f->nfields >= 4 ? imp_type_parse(f->fields[2]) : 0;
	if (f->nfields < 4 || (ts = imp_ts_parse(f->fields[0], "ms")) < 0 || type == 0 ||
	    (dio_parse_id(f->fields[1], &visitor) != 0 && strcmp(f->fields[1], "0") != 0) ||
	    dio_parse_id(f->fields[3], &item) != 0)
		return imp_error(c, path, f->lineno,
		                 "want timestamp_ms,visitorid,view|addtocart|transaction,itemid");
	if (strcmp(f->fields[1], "0") == 0)
		visitor = 0;
	snprintf(eid, sizeof(eid), "rr:%s:%s:%s:%s", f->fields[0], f->fields[1], f->fields[2],
	         f->fields[3]);
	/* visitor ids start at 0 and user ids at 1: user_id = visitorid + 1 */
	dio_event e = {.event_id = eid,
	               .user_id = visitor + 1,
	               .item_id = item,
	               .type = type,
	               .ts_ms = ts};
	return dio_sink_event(c->sink, &e);
}

/* ---- sequences: "user item item ..." one user per line, items in time order ---- */

static int
imp_sequence_row(imp_ctx *c, const char *path, const tr_csvr *f, void *arg)
{
	int64_t u, item;
	char eid[300];
	int rv;

	(void) arg;
	if (f->nfields < 2)
		return imp_error(c, path, f->lineno, "want: user item [item ...]");
	if ((rv = imp_resolve(c, f->fields[0], 0, &u)) != 0)
		return rv == RS_EINVAL
		               ? imp_error(c, path, f->lineno,
		                           "user id is not a positive integer (use --ids map)")
		               : rv;
	for (size_t k = 1; k < f->nfields; k++) {
		if ((rv = imp_resolve(c, f->fields[k], 1, &item)) != 0)
			return rv == RS_EINVAL ? imp_error(c, path, f->lineno,
			                                   "item id is not a positive integer (use "
			                                   "--ids map)")
			                       : rv;
		snprintf(eid, sizeof(eid), "seq:%ld:%zu", f->lineno, k);
		/* one minute apart, so the order within a user is kept */
		dio_event e = {.event_id = eid,
		               .user_id = u,
		               .item_id = item,
		               .type = c->o->default_type,
		               .ts_ms = (c->o->start_s + (int64_t) k * 60) * 1000};
		if ((rv = dio_sink_event(c->sink, &e)) != 0)
			return rv;
	}
	return 0;
}

/* ---- generic CSV with --map role=column[,role=column...] ---- */

enum { MAP_USER, MAP_ITEM, MAP_TS, MAP_TYPE, MAP_VALUE, MAP_EVENT_ID, MAP_PRICE, MAP_N };
static const char *const MAP_ROLES[MAP_N] = {"user",  "item",     "ts",   "type",
                                             "value", "event_id", "price"};

typedef struct imp_map {
	const char *colname[MAP_N]; /* from --map; NULL = not mapped */
	int col[MAP_N];             /* the column of each role, -1 = none (yet) */
	const char *base;           /* the file's name, for event ids */
} imp_map;

/* --map into m->colname; 0 or RS_EINVAL (c->err set). m keeps pointers into spec. */
static int
imp_map_parse(imp_ctx *c, char *spec, imp_map *m)
{
	char *save = NULL;
	int bad = 0;

	for (int k = 0; k < MAP_N; k++)
		m->col[k] = -1;
	for (char *tok = strtok_r(spec, ",", &save); tok && !bad;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int k = MAP_N;
		if (eq != NULL) {
			*eq = '\0';
			for (k = 0; k < MAP_N && strcmp(tok, MAP_ROLES[k]) != 0; k++)
				;
		}
		if (k == MAP_N)
			bad = 1;
		else
			m->colname[k] = eq + 1;
	}
	if (!bad && m->colname[MAP_USER] != NULL && m->colname[MAP_ITEM] != NULL)
		return 0;
	snprintf(c->err, sizeof(c->err),
	         "--map wants role=column pairs with user and item, roles: user item ts type value "
	         "event_id price");
	return RS_EINVAL;
}

/* The mapped columns: by header name (f is the header), or by 0-based index with --no-header.
 * 0 or RS_EINVAL (c->err set). */
static int
imp_map_columns(imp_ctx *c, const char *path, const tr_csvr *f, imp_map *m)
{
	for (int k = 0; k < MAP_N; k++) {
		if (m->colname[k] == NULL)
			continue;
		if (!c->o->header) {
			char *end;
			long v = strtol(m->colname[k], &end, 10);
			if (*end != '\0' || v < 0)
				return imp_error(
				        c, path, f->lineno,
				        "with --no-header, --map columns are 0-based indexes");
			m->col[k] = (int) v;
			continue;
		}
		for (size_t j = 0; j < f->nfields; j++)
			if (strcasecmp(f->fields[j], m->colname[k]) == 0)
				m->col[k] = (int) j;
		if (m->col[k] < 0) {
			snprintf(c->err, sizeof(c->err), "%s: no column named %s in the header",
			         path, m->colname[k]);
			return RS_EINVAL;
		}
	}
	return 0;
}

static int
imp_generic_row(imp_ctx *c, const char *path, const tr_csvr *f, void *arg)
{
	imp_map *m = arg;
	const int *col = m->col;
	char *const *fl = f->fields;
	int64_t u, item, ts;
	int type = c->o->default_type, has_value = 0, rv;
	double value = 0, price = 0;
	char eid[300];

	if (f->records == 1 || (col[MAP_USER] < 0 && !c->o->header)) {
		if ((rv = imp_map_columns(c, path, f, m)) != 0)
			return rv;
		if (c->o->header)
			return 0;
	}
	for (int k = 0; k < MAP_N; k++)
		if (col[k] >= 0 && (size_t) col[k] >= f->nfields)
			return imp_error(c, path, f->lineno, "too few fields");
	if ((rv = imp_resolve(c, fl[col[MAP_USER]], 0, &u)) != 0 ||
	    (rv = imp_resolve(c, fl[col[MAP_ITEM]], 1, &item)) != 0)
		return rv == RS_EINVAL ? imp_error(c, path, f->lineno,
		                                   "user/item id is not a positive integer (use "
		                                   "--ids map)")
		                       : rv;
	if (col[MAP_TYPE] >= 0 && (type = imp_type_parse(fl[col[MAP_TYPE]])) == 0)
		return imp_error(c, path, f->lineno, "unknown event type");
	if (col[MAP_TS] < 0)
		ts = (c->o->start_s + f->lineno) * 1000;
	else if ((ts = imp_ts_parse(fl[col[MAP_TS]], c->o->ts_unit)) < 0)
		return imp_error(c, path, f->lineno, "bad timestamp (see --ts-unit)");
	if (col[MAP_VALUE] >= 0 && fl[col[MAP_VALUE]][0] != '\0') {
		char *end;
		value = strtod(fl[col[MAP_VALUE]], &end);
		has_value = *end == '\0';
	}
	if (col[MAP_PRICE] >= 0)
		price = strtod(fl[col[MAP_PRICE]], NULL);
	if (col[MAP_EVENT_ID] >= 0)
		snprintf(eid, sizeof(eid), "%.128s", fl[col[MAP_EVENT_ID]]);
	else
		snprintf(eid, sizeof(eid), "csv:%.200s:%ld", m->base, f->lineno);
	dio_event e = {.event_id = eid,
	               .user_id = u,
	               .item_id = item,
	               .type = type,
	               .has_value = has_value,
	               .value = value,
	               .price = price,
	               .ts_ms = ts};
	return dio_sink_event(c->sink, &e);
}

static int
imp_generic(imp_ctx *c, const char *path)
{
	char spec[512], delim[2] = {c->o->delim, '\0'};
	imp_map m = {.base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path};
	int rv;

	snprintf(spec, sizeof(spec), "%s", c->o->map ? c->o->map : "");
	if ((rv = imp_map_parse(c, spec, &m)) != 0)
		return rv;
	return imp_each(c, path, c->o->delim == ' ' ? NULL : delim, imp_generic_row, &m);
}

static const char imp_usage_text[] =
        "usage: rs-train import --format FMT --input FILE [--catalog FILE] (--dsn DSN | --out "
        "DIR) [options]\n"
        "formats:\n"
        "  movielens-100k  --input u.data (user item rating ts, tabs) [--catalog u.item]\n"
        "  movielens       --input ratings.csv (userId,movieId,rating,timestamp) [--catalog "
        "movies.csv]\n"
        "  retailrocket    --input events.csv (timestamp_ms,visitorid,event,itemid,...);\n"
        "                  user_id = visitorid + 1; view/addtocart/transaction\n"
        "  sequence        --input FILE, lines 'user item item ...' (time order, 1 min apart\n"
        "                  from --start); events of --type (default purchase)\n"
        "  csv             --input FILE --map user=COL,item=COL[,ts=COL,type=COL,value=COL,\n"
        "                  event_id=COL,price=COL] [--delimiter C] [--no-header] [--ts-unit "
        "s|ms|iso]\n";

/* --delimiter C: "\\t" or "tab" is a tab, otherwise the first character */
static int
imp_opt_delim(const char *cmd, const tr_opt *o, const char *arg)
{
	(void) cmd;
	*(char *) o->dst = strcmp(arg, "\\t") == 0 || strcmp(arg, "tab") == 0 ? '\t' : arg[0];
	return 0;
}

/* The quiet parse (trn_import_each) keeps the reason for its caller instead of printing it. */
typedef struct imp_why {
	char *buf;
	size_t n;
} imp_why;

static int
imp_opt_quiet_error(const tr_opts_spec *s, const tr_opt *o, const char *arg)
{
	imp_why *w = s->ctx;
	if (o != NULL)
		snprintf(w->buf, w->n, "--%s: '%s' is not a number in [%g, %g]", o->name, arg,
		         o->lo, o->hi);
	else
		snprintf(w->buf, w->n, "unknown import option %s", arg);
	return 2;
}

/* imp_parse: the import flags into *o. -1 = go on; otherwise the exit code (0 after --help, 2 on
 * a usage error, with the reason in why_out[] when verbose is 0, else printed with the usage).
 * need_dest: --dsn or --out is required. */
static int
imp_parse(int argc, char **argv, imp_opts *o, int need_dest, int verbose, char *why_out,
          size_t whyn)
{
	const char *type = NULL;
	long start_s = 1577836800;
	imp_why quiet = {why_out, whyn};
	int first, rv;

	*o = (imp_opts){.delim = ',', .header = 1, .ts_unit = "s", .ids = "keep"};
	const tr_opt t[] = {
	        TR_OPT_STR("format", &o->format, "FMT", "one of the formats above"),
	        TR_OPT_STR("input", &o->input, "FILE", "the events (or ratings, sequences) file"),
	        TR_OPT_STR("catalog", &o->catalog, "FILE", "movielens: the movies / u.item file"),
	        TR_OPT_STR("dsn", &o->dsn, "DSN",
	                   "load into PostgreSQL (idempotent: re-importing stores nothing twice)"),
	        TR_OPT_STR("out", &o->out, "DIR",
	                   "also/instead write items.csv, users.csv, events.csv"),
	        TR_OPT_STR("map", &o->map, "ROLE=COL,...", "csv: the columns (see csv above)"),
	        TR_OPT_FN("delimiter", imp_opt_delim, &o->delim, "C",
	                  "csv: the delimiter (\\t or tab for a tab; default ,)"),
	        TR_OPT_SETV("no-header", &o->header, 0, "csv: the file has no header line"),
	        TR_OPT_STR("ts-unit", &o->ts_unit, "s|ms|iso", "csv: the timestamps (default s)"),
	        TR_OPT_STR("ids", &o->ids, "keep|map",
	                   "sequence/csv: keep positive integer ids (default) or map any token\n"
	                   "to dense ids 1..N, keeping the token as external_id"),
	        TR_OPT_STR("type", &type, "T",
	                   "event type when the file has none (view, click, add_to_cart,\n"
	                   "purchase, rating, not_interested; default purchase for sequence,\n"
	                   "view for csv)"),
	        TR_OPT_LONG("start", &start_s, 0, 253402300799.0, "UNIX_S",
	                    "base time for files without timestamps (default 1577836800)"),
	        TR_OPT_FLAG("truncate", &o->truncate,
	                    "empty items, users, events, event_ids first"),
	};
	const tr_opts_spec spec = {"import",
	                           imp_usage_text,
	                           t,
	                           sizeof(t) / sizeof(t[0]),
	                           verbose ? NULL : imp_opt_quiet_error,
	                           !verbose,
	                           &quiet};

	if ((rv = tr_opts_parse(&spec, argc, argv, &first)) != -1) {
		if (rv == 0 && !verbose) {
			snprintf(why_out, whyn, "--help is not an import option here");
			return 2;
		}
		return rv;
	}
	o->start_s = start_s;
	const char *why = NULL;
	if (o->format == NULL || o->input == NULL)
		why = "give --format and --input";
	else if (need_dest && o->dsn == NULL && o->out == NULL)
		why = "give --dsn and/or --out";
	else if (strcmp(o->ids, "keep") != 0 && strcmp(o->ids, "map") != 0)
		why = "--ids is keep or map";
	else if (strcmp(o->ts_unit, "s") != 0 && strcmp(o->ts_unit, "ms") != 0 &&
	         strcmp(o->ts_unit, "iso") != 0)
		why = "--ts-unit is s, ms or iso";
	o->default_type = type != NULL ? imp_type_parse(type)
	                               : (o->format && strcmp(o->format, "sequence") == 0 ? 4 : 1);
	if (why == NULL && o->default_type == 0)
		why = "unknown --type";
	if (why != NULL || first < argc) {
		why = why ? why : "unexpected argument";
		if (verbose) {
			fprintf(stderr, "rs-train import: %s\n", why);
			tr_opts_usage(&spec, stderr);
		} else {
			snprintf(why_out, whyn, "%s", why);
		}
		return 2;
	}
	return -1;
}

/* imp_run: the chosen format into c->sink. 0 or RS_E* (c->err set). */
static int
imp_run(imp_ctx *c)
{
	const imp_opts *o = c->o;
	int rv = 0;
	if (strcmp(o->format, "movielens-100k") == 0 || strcmp(o->format, "movielens") == 0) {
		int v100k = o->format[9] == '-';
		if (o->catalog != NULL)
			rv = imp_each(c, o->catalog, v100k ? "|" : ",", imp_ml_catalog_row, &v100k);
		if (rv == 0)
			rv = imp_each(c, o->input, v100k ? "\t" : ",", imp_ml_ratings_row, &v100k);
	} else if (strcmp(o->format, "retailrocket") == 0) {
		rv = imp_each(c, o->input, ",", imp_retailrocket_row, NULL);
	} else if (strcmp(o->format, "sequence") == 0) {
		rv = imp_each(c, o->input, NULL, imp_sequence_row, NULL);
	} else if (strcmp(o->format, "csv") == 0) {
		rv = imp_generic(c, o->input);
	} else {
		snprintf(c->err, sizeof(c->err), "unknown --format %s", o->format);
		rv = RS_EINVAL;
	}
	return rv;
}

int
trn_import_each(int argc, char **argv, const dio_sink_fns *fns, char *err, size_t errn)
{
	imp_opts o;
	imp_ctx c;
	char why[200] = "";
	int rv;

	memset(&c, 0, sizeof(c));
	if (imp_parse(argc, argv, &o, 0, 0, why, sizeof(why)) != -1) {
		snprintf(err, errn, "%s", why);
		return RS_EINVAL;
	}
	c.o = &o;
	c.map_ids = strcmp(o.ids, "map") == 0;
	if ((rv = dio_sink_open_fn(&c.sink, fns)) != 0) {
		snprintf(err, errn, "out of memory");
		return rv;
	}
	rv = imp_run(&c);
	char err2[400] = "";
	int rv2 = dio_sink_close(c.sink, NULL, err2, sizeof(err2));
	if (rv == 0 && rv2 != 0) {
		rv = rv2;
		snprintf(c.err, sizeof(c.err), "%s", err2);
	}
	if (rv != 0)
		snprintf(err, errn, "%s", c.err[0] ? c.err : rs_strerror(rv));
	rs_strmap_fini(&c.users);
	rs_strmap_fini(&c.items);
	return rv;
}

int
trn_cmd_import(int argc, char **argv)
{
	imp_opts o;
	imp_ctx c;
	int rv;

	memset(&c, 0, sizeof(c));
	if ((rv = imp_parse(argc, argv, &o, 1, 1, NULL, 0)) != -1)
		return rv;
	c.o = &o;
	c.map_ids = strcmp(o.ids, "map") == 0;
	if ((rv = dio_sink_open(&c.sink, o.dsn, o.out, o.truncate, c.err, sizeof(c.err))) != 0)
		goto fail;
	rv = imp_run(&c);
	dio_stats st;
	char err2[400] = "";
	int rv2 = dio_sink_close(c.sink, &st, err2, sizeof(err2));
	c.sink = NULL;
	if (rv == 0 && rv2 != 0) {
		rv = rv2;
		snprintf(c.err, sizeof(c.err), "%s", err2);
	}
	if (rv != 0)
		goto fail;
	fprintf(stderr,
	        "rs-train import: format=%s items=%" PRIu64 " users=%" PRIu64 " events=%" PRIu64
	        " stored_new=%" PRIu64 " already_stored=%" PRIu64 "\n",
	        o.format, st.items, st.users, st.events, st.events_new, st.events_dup);
	rs_strmap_fini(&c.users);
	rs_strmap_fini(&c.items);
	return 0;
fail:
	if (c.sink != NULL)
		dio_sink_close(c.sink, NULL, NULL, 0);
	rs_strmap_fini(&c.users);
	rs_strmap_fini(&c.items);
	fprintf(stderr, "rs-train import: %s\n", c.err[0] ? c.err : rs_strerror(rv));
	return 1;
}
