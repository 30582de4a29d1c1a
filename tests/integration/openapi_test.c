/* docs/openapi.yaml against the running gateway, so the two cannot drift apart.
 *
 * The spec is parsed with libyaml into a jansson tree. Against a full stack (PostgreSQL, the
 * five services, a seeded shop, the spec's example model version published and active):
 *  - every operation is called with the spec's own examples (path and query parameters,
 *    request body) once with each credential its `security` lists (an API key and accounts made
 *    with `rs-gateway apikey create` / `account set`, sessions from POST /v1/auth/login, the
 *    admin token): the status must be a 2xx the operation lists, the Content-Type the listed
 *    one, and a JSON body must match the listed schema (types, required fields, enums, nested
 *    objects and arrays, $ref/allOf/oneOf);
 *  - `security` must agree with the route's access level in router.c (fail closed: a
 *    protected route without `security`, a public one with it, a scheme the level refuses or
 *    an unknown scheme is a disagreement);
 *  - known-bad inputs derived from the parameter schemas (a non-integer or out-of-range integer,
 *    a value outside an enum, an unknown string id, malformed JSON, an array over its maxItems,
 *    a body over 1 MiB, a method the path does not have) must answer a 4xx the operation lists,
 *    with an Error body; no credentials, a wrong bearer token, Basic auth and a forged session
 *    cookie must answer a listed 401; credentials of the wrong kind (another customer's
 *    session, a customer on a writer or admin route, an API key on an admin route) a listed
 *    403 (or 401 on a session-only route); HEAD must answer as GET does;
 *  - the gateway's route table (gw_routes, services/gateway/router.c) must hold exactly the
 *    spec's paths and methods, and a 405's Allow header must name the spec's methods.
 * Every disagreement is collected and printed; the test fails when there is any. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "it_models.h"
#include "router.h"
#include "stack.h"

#define TOKEN "it-openapi-token-0123456789abcdef"

static test_stack st;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}
static json_t *spec;
static json_t *problems; /* array of strings */
static int nrequests;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
problem(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_string(msg));
}

/* ---- YAML -> JSON ---- */

static json_t *
yaml_node_json(yaml_document_t *d, yaml_node_t *n)
{
	if (n == NULL)
		return json_null();
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = (const char *) n->data.scalar.value;
		size_t len = n->data.scalar.length;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len > 0) {
			char *end;
			if (strcmp(s, "true") == 0)
				return json_true();
			if (strcmp(s, "false") == 0)
				return json_false();
			if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
				return json_null();
			long long v = strtoll(s, &end, 10);
			if (*end == '\0')
				return json_integer(v);
			double dv = strtod(s, &end);
			if (*end == '\0')
				return json_real(dv);
		}
		return json_stringn(s, len);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			json_array_append_new(a, yaml_node_json(d, yaml_document_get_node(d, *it)));
		return a;
	}
	json_t *o = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k == NULL || k->type != YAML_SCALAR_NODE)
			continue;
		json_object_set_new(o, (const char *) k->data.scalar.value,
		                    yaml_node_json(d, yaml_document_get_node(d, p->value)));
	}
	return o;
}

static json_t *
load_spec(const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "cannot open %s", path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (yaml_parser_load(&parser, &doc)) {
		out = yaml_node_json(&doc, yaml_document_get_root_node(&doc));
		yaml_document_delete(&doc);
	} else {
		fprintf(stderr, "%s:%zu:%zu: %s\n", path, parser.problem_mark.line + 1,
		        parser.problem_mark.column + 1, parser.problem ? parser.problem : "?");
	}
	yaml_parser_delete(&parser);
	fclose(f);
	cr_assert_not_null(out, "%s is not valid YAML", path);
	return out;
}

/* "#/components/schemas/X" -> the node; anything else is returned as is. */
static json_t *
deref(json_t *node)
{
	for (int depth = 0; depth < 16 && json_is_object(node); depth++) {
		const char *ref = json_string_value(json_object_get(node, "$ref"));
		if (ref == NULL)
			return node;
		cr_assert(strncmp(ref, "#/", 2) == 0, "only local $refs: %s", ref);
		json_t *cur = spec;
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", ref + 2);
		for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok != NULL;
		     tok = strtok_r(NULL, "/", &save))
			cur = json_object_get(cur, tok);
		cr_assert_not_null(cur, "dangling $ref %s", ref);
		node = cur;
	}
	return node;
}

/* ---- schema check ---- */

static int
type_ok(const char *type, json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	return 1;
}

/* Appends "where: what" to errs for every way v breaks schema. */
static void
check_schema(json_t *schema, json_t *v, const char *where, json_t *errs)
{
	char sub[512], msg[700];
	size_t i;
	json_t *s;

	schema = deref(schema);
	if (!json_is_object(schema))
		return;
	if (json_is_null(v) && json_is_true(json_object_get(schema, "nullable")))
		return;
	json_array_foreach(json_object_get(schema, "allOf"), i, s) check_schema(s, v, where, errs);
	json_t *one = json_object_get(schema, "oneOf");
	if (json_array_size(one) > 0) {
		int any = 0;
		json_array_foreach(one, i, s)
		{
			json_t *e = json_array();
			check_schema(s, v, where, e);
			any = any || json_array_size(e) == 0;
			json_decref(e);
		}
		if (!any) {
			snprintf(msg, sizeof(msg), "%s: matches none of oneOf", where);
			json_array_append_new(errs, json_string(msg));
		}
	}
	const char *type = json_string_value(json_object_get(schema, "type"));
	if (type != NULL && !type_ok(type, v)) {
		char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(msg, sizeof(msg), "%s: want %s, got %.80s", where, type,
		         dump != NULL ? dump : "?");
		free(dump);
		json_array_append_new(errs, json_string(msg));
		return;
	}
	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en)) {
		int found = 0;
		json_array_foreach(en, i, s) found = found || json_equal(s, v);
		if (!found) {
			char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			snprintf(msg, sizeof(msg), "%s: %.80s is not in the enum", where,
			         dump != NULL ? dump : "?");
			free(dump);
			json_array_append_new(errs, json_string(msg));
		}
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(schema, "required"), i, s)
		{
			if (json_object_get(v, json_string_value(s)) == NULL) {
				snprintf(msg, sizeof(msg), "%s: required field %s is missing",
				         where, json_string_value(s));
				json_array_append_new(errs, json_string(msg));
			}
		}
		json_t *props = json_object_get(schema, "properties");
		json_t *extra = json_object_get(schema, "additionalProperties");
		const char *k;
		json_t *fv;
		json_object_foreach(v, k, fv)
		{
			json_t *ps = json_object_get(props, k);
			snprintf(sub, sizeof(sub), "%s.%s", where, k);
			if (ps != NULL)
				check_schema(ps, fv, sub, errs);
			else if (json_is_object(extra))
				check_schema(extra, fv, sub, errs);
		}
	}
	if (json_is_array(v)) {
		json_t *items = json_object_get(schema, "items");
		json_int_t max = json_integer_value(json_object_get(schema, "maxItems"));
		if (max > 0 && (json_int_t) json_array_size(v) > max) {
			snprintf(msg, sizeof(msg), "%s: %zu items, at most %lld", where,
			         json_array_size(v), (long long) max);
			json_array_append_new(errs, json_string(msg));
		}
		json_array_foreach(v, i, s)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
			check_schema(items, s, sub, errs);
			if (i >= 20)
				break; /* enough to catch a shape problem */
		}
	}
}

/* ---- HTTP ---- */

typedef struct reply {
	long status;
	char *body;
	size_t len;
	char ctype[128];
	char allow[128];
	char reqid[96];
	char set_cookie[256];
} reply;

static size_t
on_body(char *p, size_t sz, size_t nm, void *ud)
{
	reply *r = ud;
	size_t n = sz * nm;
	char *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, n);
	r->len += n;
	nb[r->len] = '\0';
	r->body = nb;
	return n;
}

static void
header_value(const char *line, size_t n, const char *name, char *out, size_t outn)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	size_t vn = n - nl - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
		vn--;
	snprintf(out, outn, "%.*s", (int) vn, v);
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *ud)
{
	reply *r = ud;
	size_t n = sz * nm;
	header_value(p, n, "Allow", r->allow, sizeof(r->allow));
	header_value(p, n, "X-Request-Id", r->reqid, sizeof(r->reqid));
	header_value(p, n, "Set-Cookie", r->set_cookie, sizeof(r->set_cookie));
	return n;
}

/* cred: one whole request header ("Authorization: ...", "Cookie: ...") or NULL. */
static int
send_req(const char *method, const char *path, const char *body, const char *cred, reply *r)
{
	char url[1024];
	struct curl_slist *hdr = NULL;
	char *ct = NULL;
	CURL *c = curl_easy_init();

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	nrequests++;
	snprintf(url, sizeof(url), "%s%s", st.url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (cred != NULL)
		hdr = curl_slist_append(hdr, cred);
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (hdr != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
			snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	}
	if (r->body == NULL)
		r->body = calloc(1, 1);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

/* ---- one operation ---- */

static const char *const methods[] = {"get", "post", "put", "delete", "patch"};
#define NMETHODS 5

typedef struct op {
	const char *path;   /* spec path, e.g. /v1/users/{id}/recommendations */
	const char *method; /* lower case */
	json_t *node;       /* the operation object */
	json_t *params;     /* resolved parameters (new reference) */
	int secured;
	int access;      /* the route's gw_access in router.c, -1 when it has none */
	json_t *schemes; /* the security scheme names the operation lists (new reference) */
} op;

/* Checks one answer against the operation: status listed (want_4xx: and a 4xx), Content-Type
 * as listed, body against the schema, X-Request-Id present. what names the request. */
static void
check_answer(const op *o, const char *what, const reply *r, int want_4xx)
{
	char code[8], where[600];
	snprintf(code, sizeof(code), "%ld", r->status);
	json_t *resp = json_object_get(json_object_get(o->node, "responses"), code);
	if (resp == NULL)
		resp = json_object_get(json_object_get(o->node, "responses"), "default");
	if (want_4xx && (r->status < 400 || r->status > 499)) {
		problem("%s: a bad input answered %ld, want a 4xx (body %.200s)", what, r->status,
		        r->body);
		return;
	}
	if (resp == NULL) {
		problem("%s: status %ld is not in the spec of %s %s (body %.200s)", what, r->status,
		        o->method, o->path, r->body);
		return;
	}
	if (r->reqid[0] == '\0')
		problem("%s: no X-Request-Id header", what);
	resp = deref(resp);
	json_t *content = json_object_get(resp, "content");
	if (content == NULL)
		return;
	const char *ctype;
	json_t *media, *match = NULL;
	json_object_foreach(content, ctype, media)
	{
		if (strncasecmp(r->ctype, ctype, strlen(ctype)) == 0)
			match = media;
	}
	if (match == NULL) {
		problem("%s: Content-Type %s is not listed for %ld", what, r->ctype, r->status);
		return;
	}
	if (strncasecmp(r->ctype, "application/json", 16) != 0)
		return;
	json_error_t jerr;
	json_t *body = json_loads(r->body, 0, &jerr);
	if (body == NULL) {
		problem("%s: body is not JSON: %.200s", what, r->body);
		return;
	}
	json_t *errs = json_array();
	snprintf(where, sizeof(where), "%s: body", what);
	check_schema(json_object_get(match, "schema"), body, where, errs);
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) problem("%s", json_string_value(e));
	json_decref(errs);
	json_decref(body);
}

/* The parameter's example (or its schema's), as URL text. 0, or -1 when there is none. */
static int
param_example(json_t *p, char *out, size_t n)
{
	json_t *ex = json_object_get(p, "example");
	if (ex == NULL)
		ex = json_object_get(deref(json_object_get(p, "schema")), "example");
	if (json_is_string(ex))
		snprintf(out, n, "%s", json_string_value(ex));
	else if (json_is_integer(ex))
		snprintf(out, n, "%lld", (long long) json_integer_value(ex));
	else if (json_is_number(ex))
		snprintf(out, n, "%g", json_number_value(ex));
	else if (json_is_boolean(ex))
		snprintf(out, n, "%s", json_is_true(ex) ? "true" : "false");
	else
		return -1;
	return 0;
}

/* Builds the request path: path parameters from their examples except `over` (set to
 * over_value), query parameters that have an example (or `over`). */
static void
build_path(const op *o, const char *over, const char *over_value, char *out, size_t n)
{
	size_t len = 0;
	const char *p = o->path;
	char v[256];
	out[0] = '\0';
	while (*p != '\0' && len + 1 < n) {
		if (*p != '{') {
			out[len++] = *p++;
			out[len] = '\0';
			continue;
		}
		const char *e = strchr(p, '}');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int) (e - p - 1), p + 1);
		size_t i;
		json_t *prm;
		v[0] = '\0';
		json_array_foreach(o->params, i, prm)
		{
			if (strcmp(json_string_value(json_object_get(prm, "in")), "path") == 0 &&
			    strcmp(json_string_value(json_object_get(prm, "name")), name) == 0 &&
			    param_example(prm, v, sizeof(v)) != 0)
				problem("%s %s: path parameter %s has no example", o->method,
				        o->path, name);
		}
		if (over != NULL && strcmp(over, name) == 0)
			snprintf(v, sizeof(v), "%s", over_value);
		len += (size_t) snprintf(out + len, n - len, "%s", v);
		p = e + 1;
	}
	char sep = '?';
	size_t i;
	json_t *prm;
	json_array_foreach(o->params, i, prm)
	{
		if (strcmp(json_string_value(json_object_get(prm, "in")), "query") != 0)
			continue;
		const char *name = json_string_value(json_object_get(prm, "name"));
		int have = param_example(prm, v, sizeof(v)) == 0;
		if (json_is_true(json_object_get(prm, "required")) && !have)
			problem("%s %s: required query parameter %s has no example", o->method,
			        o->path, name);
		if (over != NULL && strcmp(over, name) == 0) {
			snprintf(v, sizeof(v), "%s", over_value);
			have = 1;
		}
		if (have && len + 1 < n) {
			len += (size_t) snprintf(out + len, n - len, "%c%s=%s", sep, name, v);
			sep = '&';
		}
	}
}

/* ---- credentials ---- */

static char cred_key[256];      /* the API key (rs-gateway apikey create) */
static char cred_customer[200]; /* the session of customer 1 (the spec's example user) */
static char cred_other[200];    /* the session of customer 2 */
static char cred_admin[200];    /* an admin's session */
static const char cred_token[] = "Authorization: Bearer " TOKEN;
static const char cred_forged[] =
        "Cookie: rs_session=AQAAAAAAAAABAQAAAZrOTQAAq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8"
        "BI0VniavN7wEjRWeJ";

/* Whether a route of this access level takes the scheme. */
static int
scheme_allowed(int access, const char *scheme)
{
	int session = strcmp(scheme, "sessionCookie") == 0;
	int key = strcmp(scheme, "apiKey") == 0, token = strcmp(scheme, "adminToken") == 0;
	switch (access) {
	case GW_ACCESS_SESSION:
		return session;
	case GW_ACCESS_USER:
	case GW_ACCESS_EVENTS:
	case GW_ACCESS_WRITER:
		return session || key || token;
	case GW_ACCESS_ADMIN:
		return session || token;
	default:
		return 0;
	}
}

/* The credential for scheme on o (a session reaches writer and admin routes only as an
 * admin's), or NULL for an unknown scheme (a disagreement). */
static const char *
scheme_cred(const op *o, const char *scheme)
{
	if (strcmp(scheme, "apiKey") == 0)
		return cred_key;
	if (strcmp(scheme, "adminToken") == 0)
		return cred_token;
	if (strcmp(scheme, "sessionCookie") == 0)
		return o->access == GW_ACCESS_ADMIN || o->access == GW_ACCESS_WRITER
		               ? cred_admin
		               : cred_customer;
	problem("%s %s: unknown security scheme %s", o->method, o->path, scheme);
	return NULL;
}

static int
lists_scheme(const op *o, const char *scheme)
{
	size_t i;
	json_t *v;
	json_array_foreach(o->schemes, i,
	                   v) if (strcmp(json_string_value(v), scheme) == 0) return 1;
	return 0;
}

/* The credential every request of o carries: an API key, else the admin token, else a
 * session (in that order, among the schemes listed); NULL for a public operation. */
static const char *
authz_for(const op *o)
{
	static const char *const pref[] = {"apiKey", "adminToken", "sessionCookie"};
	if (!o->secured)
		return NULL;
	for (int i = 0; i < 3; i++)
		if (lists_scheme(o, pref[i]))
			return scheme_cred(o, pref[i]);
	return cred_token;
}

static char *
example_body(const op *o)
{
	json_t *rb = deref(json_object_get(o->node, "requestBody"));
	if (rb == NULL)
		return NULL;
	json_t *media = json_object_get(json_object_get(rb, "content"), "application/json");
	json_t *ex = json_object_get(media, "example");
	if (ex == NULL) {
		problem("%s %s: the request body has no example", o->method, o->path);
		return NULL;
	}
	return json_dumps(ex, JSON_COMPACT);
}

static void
upper(const char *in, char *out, size_t n)
{
	size_t i = 0;
	for (; in[i] != '\0' && i + 1 < n; i++)
		out[i] = (char) toupper((unsigned char) in[i]);
	out[i] = '\0';
}

static void
send_and_check(const op *o, const char *path, const char *body, const char *authz, int want_4xx,
               const char *why)
{
	char M[16], what[1200];
	reply r;
	upper(o->method, M, sizeof(M));
	snprintf(what, sizeof(what), "%s %s (%s)", M, path, why);
	if (send_req(M, path, body, authz, &r) != 0)
		problem("%s: no answer", what);
	else
		check_answer(o, what, &r, want_4xx);
	free(r.body);
}

/* A refusal: exactly status want, listed, with an Error body. */
static void
send_and_expect(const op *o, const char *path, const char *body, const char *cred, long want,
                const char *why)
{
	char M[16], what[1200];
	reply r;
	upper(o->method, M, sizeof(M));
	snprintf(what, sizeof(what), "%s %s (%s)", M, path, why);
	if (send_req(M, path, body, cred, &r) != 0) {
		problem("%s: no answer", what);
	} else if (r.status != want) {
		problem("%s: answered %ld, want %ld (body %.200s)", what, r.status, want, r.body);
	} else {
		check_answer(o, what, &r, 1);
	}
	free(r.body);
}

/* Known-bad values for one parameter, from its schema. */
static void
bad_inputs_for_param(const op *o, json_t *prm)
{
	char path[1024], v[64];
	const char *name = json_string_value(json_object_get(prm, "name"));
	const char *in = json_string_value(json_object_get(prm, "in"));
	json_t *sc = deref(json_object_get(prm, "schema"));
	const char *type = json_string_value(json_object_get(sc, "type"));
	char why[200];

	if (strcmp(in, "path") != 0 && strcmp(in, "query") != 0)
		return;
	if (type != NULL && strcmp(type, "integer") == 0) {
		const char *bad[] = {"abc", "1.5", "", NULL};
		for (int i = 0; bad[i] != NULL; i++) {
			if (bad[i][0] == '\0' && strcmp(in, "path") == 0)
				continue; /* an empty segment is another route */
			build_path(o, name, bad[i], path, sizeof(path));
			snprintf(why, sizeof(why), "%s=\"%s\" is not an integer", name, bad[i]);
			send_and_check(o, path, NULL, authz_for(o), 1, why);
		}
		json_t *mn = json_object_get(sc, "minimum"), *mx = json_object_get(sc, "maximum");
		if (json_is_integer(mn)) {
			snprintf(v, sizeof(v), "%lld", (long long) json_integer_value(mn) - 1);
			build_path(o, name, v, path, sizeof(path));
			snprintf(why, sizeof(why), "%s below its minimum", name);
			send_and_check(o, path, NULL, authz_for(o), 1, why);
		}
		if (json_is_integer(mx)) {
			snprintf(v, sizeof(v), "%lld", (long long) json_integer_value(mx) + 1);
			build_path(o, name, v, path, sizeof(path));
			snprintf(why, sizeof(why), "%s above its maximum", name);
			send_and_check(o, path, NULL, authz_for(o), 1, why);
		}
		if (strcmp(in, "path") == 0) {
			/* Valid but unknown: any listed answer (200 empty, 404, ...). */
			build_path(o, name, "9223372036854775807", path, sizeof(path));
			send_and_check(o, path, NULL, authz_for(o), 0, "largest id");
			build_path(o, name, "9223372036854775808", path, sizeof(path));
			send_and_check(o, path, NULL, authz_for(o), 1, "id above 2^63-1");
		}
	} else if (json_is_array(json_object_get(sc, "enum"))) {
		build_path(o, name, "bogus", path, sizeof(path));
		snprintf(why, sizeof(why), "%s outside its enum", name);
		send_and_check(o, path, NULL, authz_for(o), 1, why);
	} else if (type != NULL && strcmp(type, "string") == 0 && strcmp(in, "path") == 0) {
		build_path(o, name, "no-such-thing", path, sizeof(path));
		snprintf(why, sizeof(why), "unknown %s", name);
		send_and_check(o, path, NULL, authz_for(o), 1, why);
	}
}

/* The example body with one of its arrays grown past the schema's maxItems, and a body over
 * the gateway's default size limit (RS_GATEWAY_MAX_BODY, 1 MiB): both must be a listed 4xx. */
static void
oversized_bodies(const op *o, const char *path)
{
	json_t *rb = deref(json_object_get(o->node, "requestBody"));
	json_t *media = json_object_get(json_object_get(rb, "content"), "application/json");
	json_t *ex = json_object_get(media, "example");
	json_t *sc = deref(json_object_get(media, "schema"));
	json_t *alts = json_object_get(sc, "oneOf");
	size_t i;
	json_t *alt;
	char why[160];

	if (alts == NULL) {
		alts = json_array();
		json_array_append(alts, sc);
	} else {
		json_incref(alts);
	}
	json_array_foreach(alts, i, alt)
	{
		const char *name;
		json_t *ps;
		json_object_foreach(json_object_get(deref(alt), "properties"), name, ps)
		{
			json_t *max = json_object_get(deref(ps), "maxItems");
			json_t *arr = json_object_get(ex, name);
			if (!json_is_integer(max) || json_array_size(arr) == 0)
				continue;
			json_t *big = json_deep_copy(ex), *barr = json_object_get(big, name);
			while ((json_int_t) json_array_size(barr) <= json_integer_value(max))
				json_array_append(barr, json_array_get(arr, 0));
			char *text = json_dumps(big, JSON_COMPACT);
			snprintf(why, sizeof(why), "%s over maxItems %lld", name,
			         (long long) json_integer_value(max));
			send_and_check(o, path, text, authz_for(o), 1, why);
			free(text);
			json_decref(big);
		}
	}
	json_decref(alts);
	size_t n = ((size_t) 1 << 20) + 16;
	char *huge = malloc(n + 1);
	cr_assert_not_null(huge);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n - 1] = '}';
	huge[n] = '\0';
	send_and_check(o, path, huge, authz_for(o), 1, "body over 1 MiB");
	free(huge);
}

static void
walk_op(op *o)
{
	char path[1024];
	char *body = example_body(o);
	size_t i;
	json_t *prm;

	/* The valid request, from the spec's examples. */
	build_path(o, NULL, NULL, path, sizeof(path));
	{
		char M[16], what[1200];
		reply r;
		upper(o->method, M, sizeof(M));
		snprintf(what, sizeof(what), "%s %s (the spec's example)", M, path);
		if (send_req(M, path, body, authz_for(o), &r) != 0)
			problem("%s: no answer", what);
		else if (r.status < 200 || r.status > 299)
			problem("%s: the example answered %ld: %.200s", what, r.status, r.body);
		else
			check_answer(o, what, &r, 0);
		/* HEAD is served wherever GET is: same status, no body. */
		if (strcmp(M, "GET") == 0) {
			reply h;
			if (send_req("HEAD", path, NULL, authz_for(o), &h) != 0)
				problem("HEAD %s: no answer", path);
			else if (h.status != r.status || h.len != 0)
				problem("HEAD %s: %ld with %zu body bytes, GET answered %ld", path,
				        h.status, h.len, r.status);
			free(h.body);
		}
		free(r.body);
	}
	/* The same example with every other credential the operation lists. */
	size_t si;
	json_t *sv;
	json_array_foreach(o->schemes, si, sv)
	{
		const char *cred = scheme_cred(o, json_string_value(sv));
		if (cred == NULL || cred == authz_for(o))
			continue;
		char M[16], what[1200];
		reply r;
		upper(o->method, M, sizeof(M));
		snprintf(what, sizeof(what), "%s %s (the example with %s)", M, path,
		         json_string_value(sv));
		if (send_req(M, path, body, cred, &r) != 0)
			problem("%s: no answer", what);
		else if (r.status < 200 || r.status > 299)
			problem("%s: answered %ld: %.200s", what, r.status, r.body);
		else
			check_answer(o, what, &r, 0);
		free(r.body);
	}

	/* Known-bad inputs. */
	json_array_foreach(o->params, i, prm) bad_inputs_for_param(o, prm);
	if (body != NULL) {
		send_and_check(o, path, "{\"events\": [", authz_for(o), 1, "malformed JSON");
		send_and_check(o, path, "[]", authz_for(o), 1, "not an object");
		send_and_check(o, path, "{}", authz_for(o), 1, "empty object");
		oversized_bodies(o, path);
	}
	if (o->secured) {
		send_and_expect(o, path, body, NULL, 401, "no credentials");
		send_and_expect(o, path, body, "Authorization: Bearer wrong-token-0123456789abcdef",
		                401, "wrong bearer token");
		send_and_expect(o, path, body, "Authorization: Basic YWRtaW46YWRtaW4=", 401,
		                "not a bearer token");
		send_and_expect(o, path, body, cred_forged, 401, "forged session cookie");
		/* credentials of the wrong kind */
		if (o->access == GW_ACCESS_USER || o->access == GW_ACCESS_EVENTS)
			send_and_expect(o, path, body, cred_other, 403,
			                "another customer's session");
		if (o->access == GW_ACCESS_WRITER || o->access == GW_ACCESS_ADMIN)
			send_and_expect(o, path, body, cred_customer, 403, "a customer's session");
		if (o->access == GW_ACCESS_ADMIN)
			send_and_expect(o, path, body, cred_key, 403, "an API key");
		if (o->access == GW_ACCESS_SESSION)
			send_and_expect(o, path, body, cred_key, 401, "an API key, no session");
	}
	free(body);
}

/* A method this path does not have: 405, listed, with Allow naming the spec's methods. */
static void
walk_path_methods(const char *spec_path, json_t *item)
{
	char allow[128] = "", path[1024], what[1200];
	const char *absent = NULL;
	op o = {0};

	for (int m = 0; m < NMETHODS; m++) {
		json_t *node = json_object_get(item, methods[m]);
		if (node == NULL) {
			if (absent == NULL)
				absent = methods[m];
			continue;
		}
		if (o.node == NULL) {
			o.path = spec_path;
			o.method = methods[m];
			o.node = node;
		}
		char M[16];
		upper(methods[m], M, sizeof(M));
		size_t n = strlen(allow);
		snprintf(allow + n, sizeof(allow) - n, "%s%s%s", n > 0 ? ", " : "", M,
		         strcmp(M, "GET") == 0 ? ", HEAD" : "");
	}
	if (absent == NULL || o.node == NULL)
		return;
	o.params = json_array();
	size_t i;
	json_t *prm;
	json_array_foreach(json_object_get(o.node, "parameters"), i, prm)
	        json_array_append(o.params, deref(prm));
	build_path(&o, NULL, NULL, path, sizeof(path));
	char M[16];
	upper(absent, M, sizeof(M));
	reply r;
	snprintf(what, sizeof(what), "%s %s (a method the path does not have)", M, path);
	if (send_req(M, path, NULL, NULL, &r) != 0) {
		problem("%s: no answer", what);
	} else {
		o.method = absent;
		if (r.status != 405)
			problem("%s: answered %ld, want 405", what, r.status);
		else if (strcmp(r.allow, allow) != 0)
			problem("%s: Allow is \"%s\", the spec has \"%s\"", what, r.allow, allow);
		/* 405 must be listed for the path's operations. */
		for (int m = 0; m < NMETHODS; m++) {
			json_t *node = json_object_get(item, methods[m]);
			if (node != NULL &&
			    json_object_get(json_object_get(node, "responses"), "405") == NULL)
				problem("%s %s: 405 is not listed", methods[m], spec_path);
		}
	}
	free(r.body);
	json_decref(o.params);
}

/* The spec's paths and methods and the router's table must be the same set. */
static void
compare_routes(void)
{
	json_t *paths = json_object_get(spec, "paths");
	for (const gw_route *rt = gw_routes; rt->method != NULL; rt++) {
		char m[16];
		size_t i = 0;
		for (; rt->method[i] != '\0' && i + 1 < sizeof(m); i++)
			m[i] = (char) tolower((unsigned char) rt->method[i]);
		m[i] = '\0';
		if (json_object_get(json_object_get(paths, rt->pattern), m) == NULL)
			problem("router.c has %s %s, docs/openapi.yaml does not", rt->method,
			        rt->pattern);
	}
	const char *p;
	json_t *item;
	json_object_foreach(paths, p, item)
	{
		for (int k = 0; k < NMETHODS; k++) {
			if (json_object_get(item, methods[k]) == NULL)
				continue;
			int found = 0;
			for (const gw_route *rt = gw_routes; rt->method != NULL && !found; rt++)
				found = strcmp(rt->pattern, p) == 0 &&
				        strcasecmp(rt->method, methods[k]) == 0;
			if (!found)
				problem("docs/openapi.yaml has %s %s, router.c does not",
				        methods[k], p);
		}
	}
}

Test(openapi, the_spec_and_the_gateway_agree, .timeout = 120, .fini = kill_leftovers)
{
	char root[] = "/tmp/rs-it-openapi-XXXXXX";
	char version[256] = "";

	curl_global_init(CURL_GLOBAL_DEFAULT);
	problems = json_array();
	/* RS_TEST_OPENAPI: another spec file (to see this test catch a broken one). */
	const char *spec_file = getenv("RS_TEST_OPENAPI");
	spec = load_spec(spec_file != NULL ? spec_file : RS_SOURCE_DIR "/docs/openapi.yaml");
	json_t *paths = json_object_get(spec, "paths");
	cr_assert(json_object_size(paths) > 0, "no paths in the spec");
	compare_routes();

	/* The model version the spec's activate example names must exist. */
	json_t *act = json_object_get(paths, "/v1/admin/models/{version}/activate");
	json_t *vp = json_array_get(json_object_get(json_object_get(act, "post"), "parameters"), 0);
	cr_assert_eq(param_example(deref(vp), version, sizeof(version)), 0,
	             "the activate route has no example version");
	fx_tmpdir(root);
	cr_assert_eq(stack_db_reset(&st, "rs_it_openapi"), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	itm_publish(&st, root, version, 0, "{\"ndcg@10\": 0.3}");
	/* The accounts: the login example's (customer 1, the examples' user), customer 2, an
	 * admin, and an API key, made with the gateway's tool. */
	json_t *lex = json_object_get(json_object_get(paths, "/v1/auth/login"), "post");
	lex = json_object_get(
	        json_object_get(deref(json_object_get(lex, "requestBody")), "content"),
	        "application/json");
	lex = json_object_get(lex, "example");
	const char *ex_login = json_string_value(json_object_get(lex, "login"));
	const char *ex_password = json_string_value(json_object_get(lex, "password"));
	cr_assert(ex_login != NULL && ex_password != NULL, "POST /v1/auth/login has no example");
	cr_assert_eq(stack_account(&st, ex_login, "customer", 1, ex_password), 0, "account set");
	cr_assert_eq(stack_account(&st, "it-customer-2", "customer", 2, "it-openapi-pw-2"), 0);
	cr_assert_eq(stack_account(&st, "it-admin", "admin", 0, "it-openapi-admin-pw"), 0);
	char key[160];
	cr_assert_eq(stack_apikey(&st, "openapi", key, sizeof(key)), 0, "apikey create");
	snprintf(cred_key, sizeof(cred_key), "Authorization: Bearer %s", key);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, 18230, 20000), 0, "stack did not become ready");
	cr_assert_eq(
	        stack_login(&st, ex_login, ex_password, cred_customer, sizeof(cred_customer), NULL),
	        200);
	cr_assert_eq(stack_login(&st, "it-customer-2", "it-openapi-pw-2", cred_other,
	                         sizeof(cred_other), NULL),
	             200);
	cr_assert_eq(stack_login(&st, "it-admin", "it-openapi-admin-pw", cred_admin,
	                         sizeof(cred_admin), NULL),
	             200);

	const char *p;
	json_t *item;
	json_object_foreach(paths, p, item)
	{
		for (int m = 0; m < NMETHODS; m++) {
			json_t *node = json_object_get(item, methods[m]);
			if (node == NULL)
				continue;
			op o = {.path = p, .method = methods[m], .node = node};
			o.params = json_array();
			size_t i;
			json_t *prm;
			json_array_foreach(json_object_get(item, "parameters"), i, prm)
			        json_array_append(o.params, deref(prm));
			json_array_foreach(json_object_get(node, "parameters"), i, prm)
			        json_array_append(o.params, deref(prm));
			json_t *sec = json_object_get(node, "security");
			if (sec == NULL)
				sec = json_object_get(spec, "security");
			o.secured = json_array_size(sec) > 0;
			o.schemes = json_array();
			json_t *req;
			json_array_foreach(sec, i, req)
			{
				const char *name;
				json_t *scopes;
				json_object_foreach(req, name, scopes)
				        json_array_append_new(o.schemes, json_string(name));
			}
			/* security must agree with the route's access level (fail closed) */
			o.access = -1;
			for (const gw_route *rt = gw_routes; rt->method != NULL; rt++)
				if (strcmp(rt->pattern, p) == 0 &&
				    strcasecmp(rt->method, methods[m]) == 0)
					o.access = (int) rt->access;
			if (o.access == GW_ACCESS_PUBLIC && o.secured)
				problem("%s %s: public in router.c, but the spec lists security",
				        methods[m], p);
			if (o.access > GW_ACCESS_PUBLIC && !o.secured)
				problem("%s %s: router.c needs credentials, the spec lists no "
				        "security",
				        methods[m], p);
			json_t *sv;
			json_array_foreach(o.schemes, i, sv)
			{
				if (o.access > GW_ACCESS_PUBLIC &&
				    !scheme_allowed(o.access, json_string_value(sv)))
					problem("%s %s: security lists %s, which router.c's access "
					        "level "
					        "refuses",
					        methods[m], p, json_string_value(sv));
			}
			walk_op(&o);
			json_decref(o.params);
			json_decref(o.schemes);
		}
		walk_path_methods(p, item);
	}

	/* An unknown path: 404 with an Error body. */
	reply r;
	cr_assert_eq(send_req("GET", "/v1/no-such-route", NULL, NULL, &r), 0);
	json_error_t jerr;
	json_t *e = json_loads(r.body, 0, &jerr);
	if (r.status != 404 || e == NULL || !json_is_object(json_object_get(e, "error")))
		problem("GET /v1/no-such-route: %ld %.200s, want 404 with an Error", r.status,
		        r.body);
	json_decref(e);
	free(r.body);

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	fx_rmtree(root);
	size_t i;
	json_t *pr;
	json_array_foreach(problems, i, pr) fprintf(stderr, "openapi: %s\n", json_string_value(pr));
	size_t n = json_array_size(problems);
	fprintf(stderr, "openapi: %zu paths, %d requests, %zu disagreements\n",
	        json_object_size(paths), nrequests, n);
	json_decref(problems);
	json_decref(spec);
	curl_global_cleanup();
	cr_assert_eq(n, 0, "%zu disagreements between docs/openapi.yaml and the gateway (above)",
	             n);
}
