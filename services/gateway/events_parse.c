/* events_parse: the POST /v1/events body -> validated rs.Event values, in one streaming pass.
 *
 * yajl calls back per token; no JSON tree is built (a tree of a 1000-event batch cost ~4 µs
 * per event in malloc/free alone, more than ingest spends on the event). The fields of the
 * event being read are collected into a small slot table and checked at its closing brace, in
 * the same order and with the same reasons as before. Strings are copied into the request
 * arena only for the fields we keep. Decisions about the body as a whole (malformed JSON, its
 * shape, an empty or oversized batch) are made after the whole body has parsed, so malformed
 * JSON always wins. */
#include "events.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#define TS_MAX_MS 4102444800000LL /* 2100-01-01 */

static const struct {
	const char *name;
	Rs__EventType type;
} ev_types[] = {
        {"view", RS__EVENT_TYPE__EVENT_VIEW},
        {"click", RS__EVENT_TYPE__EVENT_CLICK},
        {"add_to_cart", RS__EVENT_TYPE__EVENT_ADD_TO_CART},
        {"purchase", RS__EVENT_TYPE__EVENT_PURCHASE},
        {"rating", RS__EVENT_TYPE__EVENT_RATING},
        {"not_interested", RS__EVENT_TYPE__EVENT_NOT_INTERESTED},
};

/* The fields an event may carry; anything else is ignored. */
enum {
	F_EVENT_ID,
	F_USER_ID,
	F_ITEM_ID,
	F_TYPE,
	F_TS,
	F_VALUE,
	F_PRICE,
	F_REC_ID,
	F_VARIANT,
	F_POSITION,
	F_COUNT,
	F_NONE = -1
};
static const char *const field_names[F_COUNT] = {
        "event_id", "user_id", "item_id", "type",    "ts",
        "value",    "price",   "rec_id",  "variant", "position",
};

/* What a field held: K_ABSENT until seen. K_OTHER is an object, an array or a boolean. */
enum { K_ABSENT, K_NULL, K_INT, K_REAL, K_STR, K_OTHER };

enum { EV_NONE, EV_ARRAY, EV_NOT_ARRAY };

typedef struct ev_slot {
	int kind;
	long long i;
	double d;
	const char *s; /* arena copy, NUL-terminated */
	size_t slen;
} ev_slot;

typedef struct ev_fields {
	ev_slot f[F_COUNT];
} ev_fields;

/* Where the parser is: the top-level value, the root object, the events array, one event. */
typedef struct parse_state {
	rs_arena *a;
	gw_events *out;
	int depth;       /* containers open */
	int skip_above;  /* >= 0: ignore tokens while depth > skip_above (an unwanted container) */
	int top;         /* 0 nothing yet, 1 object, 2 anything else */
	int events_kind; /* EV_NONE, EV_ARRAY or EV_NOT_ARRAY: the root's "events" value */
	int in_events;   /* depth of the events array while inside it, else 0 */
	int field;       /* the key just read, for the value that follows */
	int root_key_events;
	ev_fields root; /* the root object's fields: the single-event form */
	ev_fields cur;  /* the event being read */
	size_t cap;     /* capacity of out->e_events / e_index */
	size_t rcap;    /* capacity of out->e_rejected */
	int oom;
} parse_state;

static int
grow(rs_arena *a, void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *np = rs_arena_alloc(a, ncap * elem);
	if (np == NULL)
		return -1;
	if (*cap)
		memcpy(np, *p, *cap * elem);
	*p = np;
	*cap = ncap;
	return 0;
}

static int
add_reject(parse_state *ps, uint32_t index, const char *why)
{
	gw_events *o = ps->out;
	if (grow(ps->a, (void **) &o->e_rejected, &ps->rcap, o->e_nrejected + 1,
	         sizeof(*o->e_rejected)) != 0)
		return -1;
	o->e_rejected[o->e_nrejected++] = (gw_event_reject){index, why};
	return 0;
}

static int
opt_str(const ev_slot *s, char **out)
{
	*out = "";
	if (s->kind == K_ABSENT || s->kind == K_NULL)
		return 0;
	if (s->kind != K_STR || s->slen > GW_EVENT_STR_MAX || strlen(s->s) != s->slen)
		return -1;
	*out = (char *) s->s;
	return 0;
}

/* Fills e from the collected fields; returns NULL or a static reason. */
static const char *
ev_from_fields(const ev_fields *fl, Rs__Event *e)
{
	const ev_slot *f = fl->f;

	rs__event__init(e);
	if (f[F_USER_ID].kind != K_INT || f[F_USER_ID].i <= 0)
		return "user_id must be a positive integer";
	e->user_id = f[F_USER_ID].i;
	if (f[F_ITEM_ID].kind != K_INT || f[F_ITEM_ID].i <= 0)
		return "item_id must be a positive integer";
	e->item_id = f[F_ITEM_ID].i;
	if (f[F_TYPE].kind == K_ABSENT)
		return "type is required";
	for (size_t i = 0; f[F_TYPE].kind == K_STR && i < sizeof(ev_types) / sizeof(ev_types[0]);
	     i++)
		if (strcmp(f[F_TYPE].s, ev_types[i].name) == 0)
			e->type = ev_types[i].type;
	if (e->type == RS__EVENT_TYPE__EVENT_UNSPECIFIED)
		return "type must be one of view, click, add_to_cart, purchase, rating, "
		       "not_interested";
	if (opt_str(&f[F_EVENT_ID], &e->event_id) != 0)
		return "event_id must be a string of at most 128 bytes";
	if (opt_str(&f[F_REC_ID], &e->rec_id) != 0)
		return "rec_id must be a string of at most 128 bytes";
	if (opt_str(&f[F_VARIANT], &e->variant) != 0)
		return "variant must be a string of at most 128 bytes";
	const ev_slot *ts = &f[F_TS];
	if (ts->kind == K_INT) {
		if (ts->i <= 0 || ts->i > TS_MAX_MS)
			return "ts must be unix milliseconds between 1970 and 2100";
		e->ts_ms = ts->i;
	} else if (ts->kind == K_STR) {
		if (strlen(ts->s) != ts->slen || gw_parse_iso8601(ts->s, &e->ts_ms) != 0 ||
		    e->ts_ms <= 0 || e->ts_ms > TS_MAX_MS)
			return "ts must be an ISO-8601 time with a zone, e.g. 2026-11-28T10:00:00Z";
	} else if (ts->kind != K_ABSENT && ts->kind != K_NULL) {
		return "ts must be unix milliseconds or an ISO-8601 string";
	}
	const ev_slot *v = &f[F_VALUE];
	if (v->kind == K_INT || v->kind == K_REAL) {
		e->value = v->kind == K_INT ? (double) v->i : v->d;
		e->has_value = 1;
	} else if (v->kind != K_ABSENT && v->kind != K_NULL) {
		return "value must be a number";
	}
	const ev_slot *p = &f[F_PRICE];
	if (p->kind == K_INT || p->kind == K_REAL) {
		e->price = p->kind == K_INT ? (double) p->i : p->d;
		if (e->price < 0)
			return "price must not be negative";
	} else if (p->kind != K_ABSENT && p->kind != K_NULL) {
		return "price must be a number";
	}
	const ev_slot *pos = &f[F_POSITION];
	if (pos->kind == K_INT && pos->i >= 1 && pos->i <= INT32_MAX)
		e->position = (int32_t) pos->i;
	else if (pos->kind != K_ABSENT && pos->kind != K_NULL)
		return "position must be a positive integer (the 1-based place in the list)";
	return NULL;
}

/* Validates fl as the event at body position index and files it as kept or rejected. */
static int
finish_event(parse_state *ps, const ev_fields *fl, uint32_t index)
{
	gw_events *o = ps->out;
	Rs__Event *e = rs_arena_alloc(ps->a, sizeof(*e));
	if (e == NULL)
		return -1;
	const char *why = ev_from_fields(fl, e);
	if (why != NULL)
		return add_reject(ps, index, why);
	size_t c = ps->cap;
	if (grow(ps->a, (void **) &o->e_events, &c, o->e_n + 1, sizeof(*o->e_events)) != 0 ||
	    grow(ps->a, (void **) &o->e_index, &ps->cap, o->e_n + 1, sizeof(*o->e_index)) != 0)
		return -1;
	o->e_index[o->e_n] = index;
	o->e_events[o->e_n++] = e;
	return 0;
}

/* The slot table the next value belongs to, or NULL when nobody keeps it. */
static ev_slot *
target_slot(parse_state *ps)
{
	if (ps->field == F_NONE)
		return NULL;
	if (ps->in_events && ps->depth == ps->in_events + 1)
		return &ps->cur.f[ps->field];
	if (!ps->in_events && ps->depth == 1 && ps->top == 1)
		return &ps->root.f[ps->field];
	return NULL;
}

/* One more element of the events array: 1 when it is an object to read, 0 when it is to be
 * skipped (not an object: rejected; beyond GW_EVENTS_MAX: only counted). */
static int
next_element(parse_state *ps, int is_object)
{
	ps->out->e_total++;
	if (ps->out->e_total > GW_EVENTS_MAX)
		return 0;
	if (is_object)
		return 1;
	if (add_reject(ps, (uint32_t) (ps->out->e_total - 1), "event must be an object") != 0)
		ps->oom = 1;
	return 0;
}

/* A scalar arrives: the slot to store it in (kind set), or NULL when nobody keeps it. */
static ev_slot *
on_value(parse_state *ps, int kind)
{
	if (ps->skip_above >= 0)
		return NULL;
	if (ps->depth == 0) {
		ps->top = 2; /* a scalar body */
		return NULL;
	}
	if (ps->depth == 1 && ps->top == 1 && ps->root_key_events) {
		ps->root_key_events = 0;
		ps->events_kind = EV_NOT_ARRAY;
		return NULL;
	}
	if (ps->in_events && ps->depth == ps->in_events) {
		next_element(ps, 0); /* a scalar in the events array */
		return NULL;
	}
	ev_slot *s = target_slot(ps);
	if (s != NULL) {
		*s = (ev_slot){.kind = kind};
		ps->field = F_NONE;
	}
	return s;
}

static int
cb_null(void *ctx)
{
	on_value(ctx, K_NULL);
	return 1;
}

static int
cb_boolean(void *ctx, int b)
{
	(void) b;
	on_value(ctx, K_OTHER);
	return 1;
}

static int
cb_integer(void *ctx, long long v)
{
	ev_slot *s = on_value(ctx, K_INT);
	if (s != NULL)
		s->i = v;
	return 1;
}

static int
cb_double(void *ctx, double v)
{
	ev_slot *s = on_value(ctx, K_REAL);
	if (s != NULL)
		s->d = v;
	return 1;
}

static int
cb_string(void *ctx, const unsigned char *str, size_t len)
{
	parse_state *ps = ctx;
	ev_slot *s = on_value(ps, K_STR);
	if (s == NULL)
		return 1;
	/* Strings longer than any field allows are not copied: their length decides. */
	size_t keep = len <= GW_EVENT_STR_MAX + 64 ? len : 0;
	char *copy = rs_arena_alloc(ps->a, keep + 1);
	if (copy == NULL) {
		ps->oom = 1;
		return 0;
	}
	memcpy(copy, str, keep);
	copy[keep] = '\0';
	s->s = copy;
	s->slen = len;
	return 1;
}

/* Entering a container: decide whether its tokens matter. */
static void
open_container(parse_state *ps, int is_map)
{
	if (ps->skip_above >= 0) {
		ps->depth++;
		return;
	}
	if (ps->depth == 0) {
		ps->top = is_map ? 1 : 2;
		if (!is_map)
			ps->skip_above = 0;
		ps->depth++;
		return;
	}
	if (ps->depth == 1 && ps->top == 1 && ps->root_key_events) {
		ps->root_key_events = 0;
		ps->events_kind = is_map ? EV_NOT_ARRAY : EV_ARRAY;
		if (is_map) {
			ps->skip_above = ps->depth;
		} else {
			/* a repeated "events" key: the last one wins, as in most JSON readers */
			ps->out->e_total = ps->out->e_n = ps->out->e_nrejected = 0;
			ps->in_events = ps->depth + 1;
		}
		ps->depth++;
		return;
	}
	if (ps->in_events && ps->depth == ps->in_events) {
		if (next_element(ps, is_map)) {
			memset(&ps->cur, 0, sizeof(ps->cur));
			ps->field = F_NONE;
		} else {
			ps->skip_above = ps->depth;
		}
		ps->depth++;
		return;
	}
	ev_slot *s = target_slot(ps);
	if (s != NULL) {
		*s = (ev_slot){.kind = K_OTHER};
		ps->field = F_NONE;
	}
	ps->skip_above = ps->depth;
	ps->depth++;
}

static int
close_container(parse_state *ps)
{
	ps->depth--;
	if (ps->skip_above >= 0) {
		if (ps->depth == ps->skip_above)
			ps->skip_above = -1;
		return 1;
	}
	if (ps->in_events && ps->depth == ps->in_events) {
		/* the end of one event object */
		if (finish_event(ps, &ps->cur, (uint32_t) (ps->out->e_total - 1)) != 0) {
			ps->oom = 1;
			return 0;
		}
	} else if (ps->in_events && ps->depth == ps->in_events - 1) {
		ps->in_events = 0; /* the end of the events array */
	}
	return 1;
}

static int
cb_start_map(void *ctx)
{
	open_container(ctx, 1);
	return 1;
}

static int
cb_start_array(void *ctx)
{
	open_container(ctx, 0);
	return 1;
}

/* the end of an object or an array */
static int
cb_end(void *ctx)
{
	return close_container(ctx);
}

static int
cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
	parse_state *ps = ctx;
	ps->field = F_NONE;
	if (ps->skip_above >= 0)
		return 1;
	if (ps->depth == 1 && ps->top == 1 && len == 6 && memcmp(key, "events", 6) == 0) {
		ps->root_key_events = 1;
		return 1;
	}
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(field_names[f]) == len && memcmp(field_names[f], key, len) == 0) {
			ps->field = f;
			break;
		}
	return 1;
}

static const yajl_callbacks parse_callbacks = {
        .yajl_null = cb_null,
        .yajl_boolean = cb_boolean,
        .yajl_integer = cb_integer,
        .yajl_double = cb_double,
        .yajl_string = cb_string,
        .yajl_start_map = cb_start_map,
        .yajl_map_key = cb_map_key,
        .yajl_end_map = cb_end,
        .yajl_start_array = cb_start_array,
        .yajl_end_array = cb_end,
};

/* "malformed JSON: <what> at line L column C" from yajl's terse error and the offset `at`. */
static void
malformed(yajl_handle h, const char *body, size_t len, size_t at, char *msg, size_t msgn)
{
	unsigned char *err = yajl_get_error(h, 0, (const unsigned char *) body, len);
	const char *what = err != NULL ? (const char *) err : "parse error";
	int line = 1, col = 1;
	if (at > len + 1)
		at = len + 1;
	/* yajl has consumed the offending byte: name its column, not the next one */
	for (size_t i = 0; i + 1 < at; i++) {
		if (body[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	int wl = (int) strcspn(what, "\n");
	snprintf(msg, msgn, "malformed JSON: %.*s at line %d column %d", wl, what, line, col);
	if (err != NULL)
		yajl_free_error(h, err);
}

int
gw_events_parse(const char *body, size_t len, rs_arena *a, gw_events *out, const char **code,
                char *msg, size_t msgn)
{
	parse_state ps = {.a = a, .out = out, .skip_above = -1, .field = F_NONE};

	memset(out, 0, sizeof(*out));
	yajl_handle h = yajl_alloc(&parse_callbacks, NULL, &ps);
	if (h == NULL) {
		*code = "internal";
		snprintf(msg, msgn, "out of memory");
		return 500;
	}
	yajl_status st = yajl_parse(h, (const unsigned char *) body, len);
	/* an error in the body is at the byte yajl stopped on; one found at the end is just past it
	 */
	size_t at = st == yajl_status_ok ? len + 1 : yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok || ps.oom) {
		int oom = ps.oom;
		if (!oom)
			malformed(h, body, len, at, msg, msgn);
		yajl_free(h);
		*code = oom ? "internal" : "bad_json";
		if (oom)
			snprintf(msg, msgn, "out of memory");
		return oom ? 500 : 400;
	}
	yajl_free(h);

	if (ps.top != 1) {
		*code = "bad_request";
		snprintf(msg, msgn, "body must be an event object or {\"events\": [...]}");
		return 400;
	}
	if (ps.events_kind == EV_NONE) {
		out->e_single = 1;
		out->e_total = 1;
		if (finish_event(&ps, &ps.root, 0) != 0) {
			*code = "internal";
			snprintf(msg, msgn, "out of memory");
			return 500;
		}
	} else if (ps.events_kind == EV_NOT_ARRAY) {
		*code = "bad_request";
		snprintf(msg, msgn, "events must be an array");
		return 400;
	}
	if (out->e_total == 0) {
		*code = "bad_request";
		snprintf(msg, msgn, "events must not be empty");
		return 400;
	}
	if (out->e_total > GW_EVENTS_MAX) {
		*code = "too_many_events";
		snprintf(msg, msgn, "at most %d events per request, got %zu", GW_EVENTS_MAX,
		         out->e_total);
		return 413;
	}
	if (out->e_single && out->e_nrejected > 0) {
		*code = "invalid_event";
		snprintf(msg, msgn, "%s", out->e_rejected[0].reason);
		return 400;
	}
	/* room for ingest's rejections too, which never exceed the batch */
	if (grow(a, (void **) &out->e_rejected, &ps.rcap, out->e_nrejected + out->e_n,
	         sizeof(*out->e_rejected)) != 0) {
		*code = "internal";
		snprintf(msg, msgn, "out of memory");
		return 500;
	}
	out->e_rejected_cap = ps.rcap;
	return 0;
}
