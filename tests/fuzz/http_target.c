/* Target http_target: the request target as a client sends it (path and query string) through
 * what the gateway does with it before a handler runs: gw_req_target (checks, the 400/414
 * answers), the route table's matching and capture decoding (gw_route_match), the id parser
 * of the captures, and the query value parsers (gw_query_int, gw_query_flag,
 * gw_parse_iso8601). Input: the first byte picks the method, the rest is the target.
 * Properties: no memory error; a refused target has a message and status 400 or 414; an
 * accepted path starts with '/'; the 404/405 error bodies are valid JSON naming the path. */
#include "fuzz.h"

#include <jansson.h>

#include "req.h"
#include "router.h"
#include "rs_arena.h"
#include "util.h"

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"};

/* The glue's query lookup, as libmicrohttpd hands the gateway a value: the first key=value
 * pair of the query string whose decoded key is key, decoded ('+' as space). */
typedef struct q_conn {
	const char *query; /* after '?', or NULL */
	char val[4096];
} q_conn;

static int
q_hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

static size_t
q_decode(const char *s, size_t n, char *out, size_t outn)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < outn; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && q_hex(s[i + 1]) >= 0 && q_hex(s[i + 2]) >= 0) {
			c = (char) (q_hex(s[i + 1]) * 16 + q_hex(s[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

static const char *
q_query(void *conn, const char *key)
{
	q_conn *q = conn;
	char k[256];
	for (const char *p = q->query; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t) (end - p));
		q_decode(p, (size_t) ((eq ? eq : end) - p), k, sizeof(k));
		if (strcmp(k, key) == 0) {
			if (eq == NULL)
				return "";
			q_decode(eq + 1, (size_t) (end - eq - 1), q->val, sizeof(q->val));
			return q->val;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static const char *
q_none(void *conn, const char *name)
{
	(void) conn;
	(void) name;
	return NULL;
}

static const gw_req_io q_io = {.query = q_query, .header = q_none, .cookie = q_none};

/* The reply left in r is status with a JSON error object {"error": {"code", "message"}}. */
static void
check_error_body(gw_req *r, unsigned status)
{
	FUZZ_CHECK(r->r_status == status, "status %u", r->r_status);
	json_error_t jerr;
	json_t *j = json_loadb(r->r_resp, r->r_resp_len, 0, &jerr);
	FUZZ_CHECK(j != NULL, "error body is not JSON (%s): %.*s", jerr.text, (int) r->r_resp_len,
	           r->r_resp);
	const char *msg =
	        json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	FUZZ_CHECK(msg != NULL, "no error.message");
	json_decref(j);
	gw_reply_clear(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	char *uri = fuzz_cstr(data + 1, size - 1);
	char *path = malloc(GW_PATH_MAX), err[256] = "";
	unsigned st = gw_req_target(uri, path, err, sizeof(err));
	if (st != 0) {
		FUZZ_CHECK(st == 400 || st == 414, "status %u", st);
		FUZZ_CHECK(err[0] != '\0', "no message for %u", st);
		goto out;
	}
	FUZZ_CHECK(path[0] == '/', "path %s", path);
	FUZZ_CHECK(strlen(path) < GW_PATH_MAX, "path length");

	rs_arena *a;
	if (rs_arena_create(&a, 0) != 0)
		abort();
	q_conn qc = {.query = strchr(uri, '?')};
	if (qc.query != NULL)
		qc.query++;
	gw_req r;
	gw_req_init(&r, NULL, &q_io, &qc, method, path);
	r.r_arena = a;
	const char *route = NULL;
	int other_method = 0;
	for (const gw_route *rt = gw_routes; rt->method != NULL; rt++) {
		if (!gw_route_match(rt->pattern, path, &r, 0))
			continue;
		const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
		if (strcmp(rt->method, m) != 0) {
			other_method = 1;
			continue;
		}
		route = rt->name;
		/* the captures: decoded, non-empty, no NUL; ids parse or are refused */
		if (gw_route_match(rt->pattern, path, &r, 1)) {
			FUZZ_CHECK(r.r_nparams >= 0 && r.r_nparams <= GW_MAX_PARAMS, "%d params",
			           r.r_nparams);
			for (int i = 0; i < r.r_nparams; i++) {
				int64_t id;
				FUZZ_CHECK(r.r_params[i] != NULL, "param %d", i);
				if (gw_parse_id(r.r_params[i], &id) == 0)
					FUZZ_CHECK(id > 0, "id %lld", (long long) id);
			}
		}
		break;
	}
	if (route == NULL && other_method) {
		gw_reply_error(&r, 405, "method_not_allowed", "%s is not allowed here", method);
		check_error_body(&r, 405);
	} else if (route == NULL) {
		gw_reply_error(&r, 404, "not_found", "no route for %s %s", method, path);
		check_error_body(&r, 404);
	}
	/* the query values the handlers read, through the helpers they use */
	static const char *const ints[] = {"k", "limit", "page", "per_page", "window_hours"};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int v;
		if (gw_query_int(&r, ints[i], 1, 1000, 10, &v) == 0)
			FUZZ_CHECK(v >= 1 && v <= 1000, "%s=%d", ints[i], v);
		else
			check_error_body(&r, 400);
	}
	int fl = gw_query_flag(&r, "explain");
	FUZZ_CHECK(fl >= -1 && fl <= 1, "flag %d", fl);
	const char *ts = gw_req_query(&r, "ts");
	int64_t ms;
	if (ts != NULL)
		(void) gw_parse_iso8601(ts, &ms);
	gw_reply_clear(&r);
	rs_arena_destroy(a);
out:
	free(path);
	free(uri);
	return 0;
}
