#include "catalog.h"
#include "db.h"
#include "jsonw.h"
#include "popular.h"
#include "render.h"
#include "util.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_PRICE_MAX    9999999999.99 /* numeric(12,2) */
#define CAT_Q_MAX        200           /* bytes of q */
#define CAT_Q_TERMS      8             /* words of q */
#define CAT_PAGE_MAX     1000000
#define CAT_PER_PAGE     24
#define CAT_POPULAR_HOLD 10000 /* ms the popular cache keeps our changes over older lists */

/* The CatalogItem columns, in the order cat_render reads them. */
#define CAT_TS(col) "to_char(" col " at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define CAT_COLS                                                                              \
	"item_id, title, category, brand, price::text, available, attributes::text, " CAT_TS( \
	        "created_at") ", " CAT_TS("updated_at")

/* One statement for one item or a whole batch ($1: a JSON array of gw_item_check objects), so a
 * batch is all or nothing. (xmax = 0): the row was inserted, not updated. */
#define CAT_UPSERT                                                                           \
	"insert into items (item_id, title, category, brand, price, available, attributes) " \
	"select (e->>'item_id')::bigint, e->>'title', e->>'category', e->>'brand', "         \
	"(e->>'price')::numeric, (e->>'available')::boolean, e->'attributes' "               \
	"from jsonb_array_elements($1::jsonb) e "                                            \
	"on conflict (item_id) do update set title = excluded.title, "                       \
	"category = excluded.category, brand = excluded.brand, price = excluded.price, "     \
	"available = excluded.available, attributes = excluded.attributes "                  \
	"returning (xmax = 0)::int, "
static const char put_sql[] = CAT_UPSERT CAT_COLS;
static const char batch_sql[] = CAT_UPSERT "item_id, title, category, price::text, available";
static const char get_sql[] = "select " CAT_COLS " from items where item_id = $1::bigint";
static const char withdraw_sql[] = "update items set available = false where item_id = $1::bigint "
                                   "returning " CAT_COLS;
static const char categories_sql[] =
        "select category, count(*) from items where available and category <> '' "
        "group by category order by category collate \"C\"";

static void
reply_db_down(gw_req *req)
{
	gw_reply_error(req, 503, "unavailable", "the catalog (PostgreSQL) is unavailable");
}

/* A statement's result: 0 when it has status want; otherwise the reply is written (503 when
 * the database is unreachable, 500 for a statement that failed) and the result cleared. */
static int
cat_result(gw_req *req, PGresult *res, ExecStatusType want, const char *what)
{
	if (res == NULL) {
		reply_db_down(req);
		return -1;
	}
	if (rs_pg_check(NULL, res, want, what) == 0)
		return 0;
	PQclear(res);
	gw_reply_error(req, 500, "internal", "the catalog statement failed");
	return -1;
}

/* ---- rendering ---- */

/* One CatalogItem from the CAT_COLS columns of row, starting at column c. */
static void
cat_render(gw_jw *w, PGresult *r, int row, int c)
{
	gw_jw_lit(w, "{\"item_id\":");
	gw_jw_int(w, strtoll(PQgetvalue(r, row, c), NULL, 10));
	gw_jw_lit(w, ",\"title\":");
	gw_jw_str(w, PQgetvalue(r, row, c + 1));
	gw_jw_lit(w, ",\"category\":");
	gw_jw_str(w, PQgetvalue(r, row, c + 2));
	gw_jw_lit(w, ",\"brand\":");
	gw_jw_str(w, PQgetvalue(r, row, c + 3));
	gw_jw_lit(w, ",\"price\":");
	if (PQgetisnull(r, row, c + 4))
		gw_jw_lit(w, "null");
	else
		gw_jw_real(w, strtod(PQgetvalue(r, row, c + 4), NULL));
	gw_jw_lit(w, ",\"available\":");
	gw_jw_bool(w, PQgetvalue(r, row, c + 5)[0] == 't');
	gw_jw_lit(w, ",\"attributes\":");
	const char *attrs = PQgetvalue(r, row, c + 6);
	gw_jw_raw(w, attrs, strlen(attrs)); /* jsonb's text output is JSON */
	gw_jw_lit(w, ",\"created_at\":");
	gw_jw_str(w, PQgetvalue(r, row, c + 7));
	gw_jw_lit(w, ",\"updated_at\":");
	gw_jw_str(w, PQgetvalue(r, row, c + 8));
	gw_jw_lit(w, "}");
}

/* The popular cache learns what this gateway just wrote: rows of r with (item_id, title,
 * category, price text, available) at columns c.. */
static void
cat_patch_popular(gw_server *srv, PGresult *r, int c)
{
	int n = PQntuples(r);
	gw_popular_patch *pp = malloc((size_t) (n ? n : 1) * sizeof(*pp));
	if (pp == NULL)
		return; /* the next refresh brings the change */
	for (int i = 0; i < n; i++)
		pp[i] = (gw_popular_patch){
		        .item_id = strtoll(PQgetvalue(r, i, c), NULL, 10),
		        .title = PQgetvalue(r, i, c + 1),
		        .category = PQgetvalue(r, i, c + 2),
		        .price = PQgetisnull(r, i, c + 3) ? 0
		                                          : strtod(PQgetvalue(r, i, c + 3), NULL),
		        .available = PQgetvalue(r, i, c + 4)[0] == 't',
		};
	gw_popular_catalog(srv->s_popular, pp, (size_t) n, CAT_POPULAR_HOLD);
	free(pp);
}

/* ---- validation ---- */

/* Characters of a UTF-8 string (jansson has checked the encoding). */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

static int
has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* A text field: a string of 1..max characters (0..max when may_be_empty), no control
 * characters. NULL when fine, else why. */
static const char *
text_problem(json_t *v, size_t max, int may_be_empty)
{
	if (!json_is_string(v))
		return "must be a string";
	const char *s = json_string_value(v);
	size_t n = utf8_chars(s);
	if (n == 0 && !may_be_empty)
		return "must not be empty";
	if (n > max)
		return "is longer than 300 characters";
	if (has_control(s))
		return "must not contain control characters";
	return NULL;
}

/* A category path: segments joined by '/', none of them empty. */
static const char *
category_problem(json_t *v)
{
	const char *why = text_problem(v, GW_ITEM_TEXT_MAX, 0);
	if (why != NULL)
		return why;
	const char *s = json_string_value(v);
	if (s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//") != NULL)
		return "must be path segments joined by \"/\" (no empty segment)";
	return NULL;
}

static int
item_problem(const char *where, const char *field, const char *why, char *msg, size_t msgn)
{
	snprintf(msg, msgn, "%s%s %s", where, field, why);
	return -1;
}

int
gw_item_check(json_t *o, int64_t id, const char *where, json_t **norm, char *msg, size_t msgn)
{
	static const char *const known[] = {"item_id",    "title",      "category",
	                                    "brand",      "price",      "available",
	                                    "attributes", "created_at", "updated_at"};
	const char *key, *why;
	json_t *v;

	if (!json_is_object(o)) {
		if (where[0] != '\0') /* "items[3]." -> "items[3] must be an object" */
			snprintf(msg, msgn, "%.*s must be an object", (int) strlen(where) - 1,
			         where);
		else
			snprintf(msg, msgn, "the body must be a JSON object");
		return -1;
	}
	json_object_foreach(o, key, v)
	{
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key) != 0)
			k++;
		if (k == sizeof(known) / sizeof(known[0])) {
			char q[64];
			snprintf(q, sizeof(q), "%s", key);
			for (char *p = q; *p; p++)
				if ((unsigned char) *p < 0x20 || *p == '"')
					*p = '?';
			snprintf(msg, msgn, "%sunknown field \"%s\"", where, q);
			return -1;
		}
	}
	/* created_at and updated_at are the database's: accepted (a CatalogItem sent back as
	 * it was read) and ignored. */
	json_t *jid = json_object_get(o, "item_id");
	if (id == 0) {
		if (!json_is_integer(jid) || json_integer_value(jid) <= 0)
			return item_problem(where, "item_id", "must be a positive integer", msg,
			                    msgn);
		id = json_integer_value(jid);
	} else if (jid != NULL && (!json_is_integer(jid) || json_integer_value(jid) != id)) {
		return item_problem(where, "item_id", "must equal the id in the path", msg, msgn);
	}
	json_t *title = json_object_get(o, "title");
	if (title == NULL)
		return item_problem(where, "title", "is required", msg, msgn);
	if ((why = text_problem(title, GW_ITEM_TEXT_MAX, 0)) != NULL)
		return item_problem(where, "title", why, msg, msgn);
	json_t *cat = json_object_get(o, "category");
	if (cat == NULL)
		return item_problem(where, "category", "is required", msg, msgn);
	if ((why = category_problem(cat)) != NULL)
		return item_problem(where, "category", why, msg, msgn);
	json_t *brand = json_object_get(o, "brand");
	if (brand != NULL && !json_is_null(brand) &&
	    (why = text_problem(brand, GW_ITEM_TEXT_MAX, 1)) != NULL)
		return item_problem(where, "brand", why, msg, msgn);
	json_t *price = json_object_get(o, "price");
	if (price != NULL && !json_is_null(price)) {
		double p = json_number_value(price);
		if (!json_is_number(price) || !isfinite(p))
			return item_problem(where, "price", "must be a number or null", msg, msgn);
		if (p < 0)
			return item_problem(where, "price", "must not be negative", msg, msgn);
		if (p > CAT_PRICE_MAX)
			return item_problem(where, "price", "must be at most 9999999999.99", msg,
			                    msgn);
	}
	json_t *avail = json_object_get(o, "available");
	if (avail != NULL && !json_is_null(avail) && !json_is_boolean(avail))
		return item_problem(where, "available", "must be true or false", msg, msgn);
	json_t *attrs = json_object_get(o, "attributes");
	size_t alen = 2;
	if (attrs != NULL && !json_is_null(attrs)) {
		if (!json_is_object(attrs))
			return item_problem(where, "attributes", "must be an object", msg, msgn);
		char *text = json_dumps(attrs, JSON_COMPACT);
		if (text == NULL)
			return item_problem(where, "attributes", "cannot be stored", msg, msgn);
		alen = strlen(text);
		int nul = strstr(text, "\\u0000") != NULL; /* jsonb refuses it */
		free(text);
		if (alen > GW_ITEM_ATTRS_MAX)
			return item_problem(where, "attributes",
			                    "is larger than 16 KiB (16384 bytes as compact JSON)",
			                    msg, msgn);
		if (nul)
			return item_problem(where, "attributes", "must not contain \\u0000", msg,
			                    msgn);
	}
	*norm = json_pack(
	        "{s:I,s:O,s:O,s:o,s:o,s:b,s:o}", "item_id", (json_int_t) id, "title", title,
	        "category", cat, "brand",
	        brand != NULL && !json_is_null(brand) ? json_incref(brand) : json_string(""),
	        "price", price != NULL && !json_is_null(price) ? json_incref(price) : json_null(),
	        "available", avail == NULL || json_is_null(avail) || json_is_true(avail),
	        "attributes",
	        attrs != NULL && !json_is_null(attrs) ? json_incref(attrs) : json_object());
	if (*norm == NULL) {
		snprintf(msg, msgn, "out of memory");
		return -1;
	}
	return 0;
}

/* The body as a JSON object (duplicate keys refused), or the 400 written and NULL. */
static json_t *
cat_body(gw_req *req)
{
	json_error_t jerr;
	json_t *b = json_loadb(req->r_body, req->r_body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (b == NULL) {
		gw_reply_error(req, 400, "bad_json", "malformed JSON: %s at line %d column %d",
		               jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(b)) {
		json_decref(b);
		gw_reply_error(req, 400, "bad_request", "the body must be a JSON object");
		return NULL;
	}
	return b;
}

/* The {id} path segment as an item id, or the 400 written and -1. */
static int
cat_path_id(gw_req *req, int64_t *id)
{
	if (gw_parse_id(req->r_nparams > 0 ? req->r_params[0] : NULL, id) != 0) {
		gw_reply_error(req, 400, "bad_request", "item id must be a positive integer");
		return -1;
	}
	return 0;
}

static int
cat_is_writer(const gw_req *req)
{
	return req->r_who.p_role == GW_ROLE_ADMIN || req->r_who.p_role == GW_ROLE_API_KEY;
}

/* ---- GET /v1/items ---- */

/* s as a LIKE pattern matching itself literally, between prefix and suffix (arena). */
static char *
like_literal(rs_arena *a, const char *prefix, const char *s, size_t n, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), k = 0;
	char *out = rs_arena_alloc(a, pl + 2 * n + sl + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, prefix, pl);
	k = pl;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '%' || s[i] == '_')
			out[k++] = '\\';
		out[k++] = s[i];
	}
	memcpy(out + k, suffix, sl + 1);
	return out;
}

typedef struct list_query {
	char where[1024];
	size_t wlen;
	const char *params[CAT_Q_TERMS + 6];
	int np;
} list_query;

/* The next parameter's number ($n) for value. */
static int
list_param(list_query *lq, const char *value)
{
	lq->params[lq->np++] = value;
	return lq->np;
}

/* Appends " and " and the formatted condition. 0, or -1 when it does not fit. */
static int list_cond(list_query *lq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int
list_cond(list_query *lq, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof(lq->where) - lq->wlen;
	int w = snprintf(lq->where + lq->wlen, room, " and ");
	va_start(ap, fmt);
	if (w > 0 && (size_t) w < room)
		w += vsnprintf(lq->where + lq->wlen + w, room - (size_t) w, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t) w >= room)
		return -1;
	lq->wlen += (size_t) w;
	return 0;
}

void
gw_handle_items_list(gw_server *srv, gw_req *req)
{
	static const char *const sorts[] = {"relevance", "price_asc", "price_desc", "newest"};
	list_query lq = {.where = "true"};
	int page, per_page, sort = 0, rv;
	char order[256], lim[16], off[24];
	const char *q = gw_req_query(req, "q");
	const char *cat = gw_req_query(req, "category");
	const char *sp = gw_req_query(req, "sort");
	const char *first_term = NULL;
	size_t first_len = 0;

	lq.wlen = strlen(lq.where);
	if (gw_query_int(req, "page", 1, CAT_PAGE_MAX, 1, &page) != 0 ||
	    gw_query_int(req, "per_page", 1, GW_ITEMS_PAGE_MAX, CAT_PER_PAGE, &per_page) != 0)
		return;
	if (sp != NULL) {
		for (sort = 0; sort < 4 && strcmp(sp, sorts[sort]) != 0; sort++)
			;
		if (sort == 4) {
			gw_reply_error(req, 400, "bad_request",
			               "sort must be relevance, price_asc, price_desc or newest");
			return;
		}
	}
	int all = gw_query_flag(req, "include_unavailable");
	if (all < 0) {
		gw_reply_error(req, 400, "bad_request", "include_unavailable must be 0 or 1");
		return;
	}
	if (all && !cat_is_writer(req)) {
		gw_reply_error(req, 403, "forbidden",
		               "include_unavailable=1 needs an API key or an admin");
		return;
	}
	if (!all)
		list_cond(&lq, "available");
	if (cat != NULL && cat[0] != '\0') {
		size_t n = strlen(cat);
		if (n > 0 && cat[n - 1] == '/')
			n--; /* "Home/" is "Home" */
		if (n == 0 || n > 4 * GW_ITEM_TEXT_MAX || has_control(cat)) {
			gw_reply_error(
			        req, 400, "bad_request",
			        "category must be a category path without control characters");
			return;
		}
		char *exact = rs_arena_alloc(req->r_arena, n + 1);
		char *under = like_literal(req->r_arena, "", cat, n, "/%");
		if (exact == NULL || under == NULL) {
			gw_reply_error(req, 500, "internal", "out of memory");
			return;
		}
		memcpy(exact, cat, n);
		exact[n] = '\0';
		/* a path prefix: "Home" is "Home" and "Home/...", never "Homeware" */
		int a = list_param(&lq, exact), b = list_param(&lq, under);
		if (list_cond(&lq, "(category = $%d or category like $%d)", a, b) != 0) {
			gw_reply_error(req, 500, "internal", "query too long");
			return;
		}
	}
	if (q != NULL) {
		if (strlen(q) > CAT_Q_MAX || has_control(q)) {
			gw_reply_error(req, 400, "bad_request",
			               "q must be at most %d bytes without control characters",
			               CAT_Q_MAX);
			return;
		}
		int terms = 0;
		for (const char *p = q; *p;) {
			p += strspn(p, " ");
			size_t n = strcspn(p, " ");
			if (n == 0)
				break;
			if (++terms > CAT_Q_TERMS) {
				gw_reply_error(req, 400, "bad_request", "q has more than %d words",
				               CAT_Q_TERMS);
				return;
			}
			char *pat = like_literal(req->r_arena, "%", p, n, "%");
			if (pat == NULL ||
			    list_cond(&lq, "title ilike $%d", list_param(&lq, pat)) != 0) {
				gw_reply_error(req, 500, "internal", "out of memory");
				return;
			}
			if (first_term == NULL) {
				first_term = p;
				first_len = n;
			}
			p += n;
		}
	}
	int nfilter = lq.np; /* the parameters of the where clause */
	/* relevance: where the first word of q appears (earlier first), then shorter titles */
	if (sort == 0 && first_term != NULL) {
		char *t = rs_arena_alloc(req->r_arena, first_len + 1);
		if (t == NULL) {
			gw_reply_error(req, 500, "internal", "out of memory");
			return;
		}
		memcpy(t, first_term, first_len);
		t[first_len] = '\0';
		lq.params[lq.np++] = t;
		snprintf(order, sizeof(order),
		         "strpos(lower(title), lower($%d)), length(title), item_id", lq.np);
	} else {
		snprintf(order, sizeof(order), "%s",
		         sort == 1   ? "price asc nulls last, item_id"
		         : sort == 2 ? "price desc nulls last, item_id"
		         : sort == 3 ? "created_at desc, item_id desc"
		                     : "item_id");
	}
	snprintf(lim, sizeof(lim), "%d", per_page);
	snprintf(off, sizeof(off), "%lld", (long long) (page - 1) * per_page);
	lq.params[lq.np++] = lim;
	lq.params[lq.np++] = off;
	char sql[2048];
	snprintf(sql, sizeof(sql),
	         "select count(*) over (), " CAT_COLS " from items where %s order by %s "
	         "limit $%d::int offset $%d::bigint",
	         lq.where, order, lq.np - 1, lq.np);
	PGresult *res = gw_db_query(srv->s_db, sql, lq.np, lq.params, &rv);
	if (cat_result(req, res, PGRES_TUPLES_OK, "catalog.list") != 0)
		return;
	long long total = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	if (PQntuples(res) == 0 && page > 1) {
		/* past the last page: the window had no row to count on */
		PQclear(res);
		snprintf(sql, sizeof(sql), "select count(*) from items where %s", lq.where);
		res = gw_db_query(srv->s_db, sql, nfilter, lq.params, &rv);
		if (cat_result(req, res, PGRES_TUPLES_OK, "catalog.count") != 0)
			return;
		total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	gw_jw w;
	gw_jw_init(&w, 4096);
	gw_jw_lit(&w, "{\"items\":[");
	for (int i = 0; res != NULL && i < PQntuples(res); i++) {
		if (i > 0)
			gw_jw_lit(&w, ",");
		cat_render(&w, res, i, 1);
	}
	PQclear(res);
	gw_jw_lit(&w, "],\"page\":");
	gw_jw_int(&w, page);
	gw_jw_lit(&w, ",\"per_page\":");
	gw_jw_int(&w, per_page);
	gw_jw_lit(&w, ",\"total\":");
	gw_jw_int(&w, total);
	gw_jw_lit(&w, "}");
	gw_reply_jw(req, 200, &w);
}

/* ---- one item ---- */

/* Runs sql (one parameter: the path's item id) and returns its one-row result, or NULL after
 * replying (400 bad id, 404 no such item, 503 database). */
static PGresult *
cat_one_item(gw_server *srv, gw_req *req, const char *sql, const char *what, int64_t *id)
{
	char ids[24];
	int rv;

	if (cat_path_id(req, id) != 0)
		return NULL;
	snprintf(ids, sizeof(ids), "%lld", (long long) *id);
	PGresult *res = gw_db_query(srv->s_db, sql, 1, (const char *const[]){ids}, &rv);
	if (cat_result(req, res, PGRES_TUPLES_OK, what) != 0)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		gw_reply_error(req, 404, "not_found", "item %lld is not in the catalog",
		               (long long) *id);
		return NULL;
	}
	return res;
}

void
gw_handle_item_get(gw_server *srv, gw_req *req)
{
	int64_t id;
	PGresult *res = cat_one_item(srv, req, get_sql, "catalog.get", &id);
	if (res == NULL)
		return;
	gw_jw w;
	gw_jw_init(&w, 1024);
	cat_render(&w, res, 0, 0);
	PQclear(res);
	gw_reply_jw(req, 200, &w);
}

/* Runs sql with the JSON array of normalised items; the result or NULL (reply written). */
static PGresult *
cat_write(gw_server *srv, gw_req *req, const char *sql, json_t *arr, const char *what)
{
	int rv;
	char *text = json_dumps(arr, JSON_COMPACT);
	if (text == NULL) {
		gw_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	PGresult *res = gw_db_query(srv->s_db, sql, 1, (const char *const[]){text}, &rv);
	free(text);
	if (cat_result(req, res, PGRES_TUPLES_OK, what) != 0)
		return NULL;
	return res;
}

void
gw_handle_item_put(gw_server *srv, gw_req *req)
{
	int64_t id;
	json_t *norm = NULL;
	char msg[300];

	if (cat_path_id(req, &id) != 0)
		return;
	json_t *body = cat_body(req);
	if (body == NULL)
		return;
	int bad = gw_item_check(body, id, "", &norm, msg, sizeof(msg));
	json_decref(body);
	if (bad) {
		gw_reply_error(req, 400, "bad_request", "%s", msg);
		return;
	}
	json_t *arr = json_array();
	json_array_append_new(arr, norm);
	PGresult *res = cat_write(srv, req, put_sql, arr, "catalog.put");
	json_decref(arr);
	if (res == NULL)
		return;
	int created = PQgetvalue(res, 0, 0)[0] == '1';
	/* (item_id, title, category, price, available) for the popular cache */
	gw_popular_patch pp = {
	        .item_id = id,
	        .title = PQgetvalue(res, 0, 2),
	        .category = PQgetvalue(res, 0, 3),
	        .price = PQgetisnull(res, 0, 5) ? 0 : strtod(PQgetvalue(res, 0, 5), NULL),
	        .available = PQgetvalue(res, 0, 6)[0] == 't',
	};
	gw_popular_catalog(srv->s_popular, &pp, 1, CAT_POPULAR_HOLD);
	gw_jw w;
	gw_jw_init(&w, 1024);
	gw_jw_lit(&w, "{\"item\":");
	cat_render(&w, res, 0, 1);
	gw_jw_lit(&w, ",\"created\":");
	gw_jw_bool(&w, created);
	gw_jw_lit(&w, "}");
	PQclear(res);
	rs_log_info("gw.item_written", "req=%s item=%lld created=%d by=%s", req->r_request_id,
	            (long long) id, created, req->r_who.p_name);
	gw_reply_jw(req, 200, &w);
}

/* Sorting helper for the batch's duplicate check. */
typedef struct batch_id {
	int64_t id;
	size_t index;
} batch_id;

static int
cmp_batch_id(const void *a, const void *b)
{
	const batch_id *x = a, *y = b;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->index > y->index) - (x->index < y->index);
}

void
gw_handle_items_post(gw_server *srv, gw_req *req)
{
	char msg[300], where[32];
	json_t *body = cat_body(req);
	if (body == NULL)
		return;
	json_t *items = json_object_get(body, "items");
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "items") != 0) {
			json_decref(body);
			gw_reply_error(req, 400, "bad_request",
			               "unknown field in the body (only \"items\")");
			return;
		}
	}
	if (!json_is_array(items) || json_array_size(items) == 0) {
		json_decref(body);
		gw_reply_error(req, 400, "bad_request", "items must be a non-empty array");
		return;
	}
	size_t n = json_array_size(items);
	if (n > GW_ITEMS_BATCH_MAX) {
		json_decref(body);
		gw_reply_error(req, 400, "bad_request", "items holds %zu items, at most %d", n,
		               GW_ITEMS_BATCH_MAX);
		return;
	}
	json_t *arr = json_array();
	batch_id *ids = rs_arena_alloc(req->r_arena, n * sizeof(*ids));
	if (arr == NULL || ids == NULL) {
		json_decref(arr);
		json_decref(body);
		gw_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *norm;
		snprintf(where, sizeof(where), "items[%zu].", i);
		if (gw_item_check(json_array_get(items, i), 0, where, &norm, msg, sizeof(msg)) !=
		    0) {
			json_decref(arr);
			json_decref(body);
			gw_reply_error(req, 400, "bad_request", "%s", msg);
			return;
		}
		ids[i] = (batch_id){json_integer_value(json_object_get(norm, "item_id")), i};
		json_array_append_new(arr, norm);
	}
	json_decref(body);
	qsort(ids, n, sizeof(*ids), cmp_batch_id);
	for (size_t i = 1; i < n; i++)
		if (ids[i].id == ids[i - 1].id) {
			json_decref(arr);
			gw_reply_error(req, 400, "bad_request",
			               "items[%zu].item_id %lld repeats items[%zu].item_id",
			               ids[i].index, (long long) ids[i].id, ids[i - 1].index);
			return;
		}
	PGresult *res = cat_write(srv, req, batch_sql, arr, "catalog.batch");
	json_decref(arr);
	if (res == NULL)
		return;
	long long created = 0;
	for (int i = 0; i < PQntuples(res); i++)
		created += PQgetvalue(res, i, 0)[0] == '1';
	cat_patch_popular(srv, res, 1);
	rs_log_info("gw.items_written", "req=%s items=%d created=%lld by=%s", req->r_request_id,
	            PQntuples(res), created, req->r_who.p_name);
	gw_reply_json(req, 200,
	              json_pack("{s:I,s:I}", "upserted", (json_int_t) PQntuples(res), "created",
	                        (json_int_t) created));
	PQclear(res);
}

void
gw_handle_item_delete(gw_server *srv, gw_req *req)
{
	int64_t id;
	PGresult *res = cat_one_item(srv, req, withdraw_sql, "catalog.withdraw", &id);
	if (res == NULL)
		return;
	gw_popular_patch pp = {.item_id = id, .available = 0};
	gw_popular_catalog(srv->s_popular, &pp, 1, CAT_POPULAR_HOLD);
	gw_jw w;
	gw_jw_init(&w, 1024);
	gw_jw_lit(&w, "{\"item\":");
	cat_render(&w, res, 0, 0);
	gw_jw_lit(&w, "}");
	PQclear(res);
	rs_log_info("gw.item_withdrawn", "req=%s item=%lld by=%s", req->r_request_id,
	            (long long) id, req->r_who.p_name);
	gw_reply_jw(req, 200, &w);
}

void
gw_handle_categories(gw_server *srv, gw_req *req)
{
	int rv;
	PGresult *res = gw_db_query(srv->s_db, categories_sql, 0, NULL, &rv);
	if (cat_result(req, res, PGRES_TUPLES_OK, "catalog.categories") != 0)
		return;
	gw_jw w;
	gw_jw_init(&w, 4096);
	gw_jw_lit(&w, "{\"categories\":[");
	for (int i = 0; i < PQntuples(res); i++) {
		if (i > 0)
			gw_jw_lit(&w, ",");
		gw_jw_lit(&w, "{\"path\":");
		gw_jw_str(&w, PQgetvalue(res, i, 0));
		gw_jw_lit(&w, ",\"items\":");
		gw_jw_int(&w, strtoll(PQgetvalue(res, i, 1), NULL, 10));
		gw_jw_lit(&w, "}");
	}
	PQclear(res);
	gw_jw_lit(&w, "]}");
	gw_reply_jw(req, 200, &w);
}
