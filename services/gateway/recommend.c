/* recommend: GET /v1/users/{id}/recommendations and its two cheap siblings,
 * GET /v1/items/{id}/similar and GET /v1/popular.
 *
 * Recommendations take, besides k and explain: what_if (hypothetical events rs-feature folds
 * into this answer's history and embedding only), exclude (items not to show) and, for
 * admins, version (the published model version every hop serves instead of the active one;
 * RequestHeader.model_version). explain=1 adds the inspector's data (explain below).
 *
 * One deadline per request (cfg.deadline_ms), split across the hops so a slow hop cannot
 * starve the next: feature may use 1/3 of what is left, candidate 1/2 of what is left after
 * it, ranking the rest minus a small reserve for rendering. Every hop's RequestHeader carries
 * its own deadline, so a downstream stops work the gateway would no longer wait for.
 *
 * Fallbacks (the answer says degraded=true and why):
 *   feature fails    -> candidates without history
 *   candidate fails  -> the cached popular list (no ranking) without what the history at hand
 *                       shows the customer bought or marked not interested, and without the
 *                       request's excluded items; none cached -> 503
 *   ranking fails    -> candidates in their own order
 * Reasons of the items served without the ranker come from their sources (render.h). */
#include "experiments.h"
#include "impressions.h"
#include "metrics.h"
#include "popular.h"
#include "recommend.h"
#include "render.h"
#include "titles.h"
#include "util.h"

#include "candidate.pb-c.h"
#include "feature.pb-c.h"
#include "ranking.pb-c.h"
#include "rs_err.h"
#include "rs_pbwire.h"
#include "rs_proc.h"
#include "rs_time.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_K_MAX          100
#define REC_K_DEFAULT      10
#define REC_CAND_PER_K     5 /* candidates per requested item, at least cfg.candidates_min */
#define REC_CAND_MAX       1000
#define REC_RENDER_RESERVE 2    /* ms kept for rendering the answer */
#define REC_POPULAR_OFFER  1000 /* live answers refresh the cache at most this often */
#define REC_WHAT_IF_MAX    10   /* hypothetical events per request */
#define REC_EXCLUDE_MAX    100  /* excluded items per request */
#define REC_VERSION_MAX    200  /* bytes of a model version name (as the admin routes) */
#define REC_NEAREST        5    /* explain.feature.nearest: the als source's ranks 1..5 */

typedef struct rec_hop {
	const char *h_name;
	double h_ms;
	int h_called;
	int h_ok;
	const char *h_failure; /* "unavailable", "timeout", "error" */
	int h_rv;              /* rs_rpc_request's result */
	Rs__Status h_status;   /* the downstream's status when h_rv == 0 */
	char h_err[192];
	void *h_resp;         /* unpacked answer, or h_raw when called without a descriptor */
	const uint8_t *h_raw; /* the answer's bytes (arena) */
	size_t h_raw_len;
	double h_t0; /* rs_mono_ms() when the call started (explain's time axis) */
} rec_hop;

/* Marks hop failed with rv (an RS_E*): its answer came but cannot be used. */
static void
rec_hop_failed(rec_hop *hop, int rv)
{
	hop->h_ok = 0;
	hop->h_rv = rv;
	hop->h_failure = "error";
	snprintf(hop->h_err, sizeof(hop->h_err), "%s failed: %s", hop->h_name, rs_strerror(rv));
}

/* Calls one downstream with budget_ms; fills hop. Returns 1 when the answer is usable.
 * The ntail (0..3) pieces of tail follow the packed msg on the wire, not copied: fields of
 * msg's message packed already (the history events feature sent, RankRequest.retrieval: its
 * tag and length, then the candidate answer's bytes). With desc NULL the answer is not
 * unpacked: hop->h_raw holds its bytes. */
static int
rec_call(gw_server *srv, int ds, Rs__Method method, ProtobufCMessage *msg, Rs__RequestHeader *hdr,
         const ProtobufCMessageDescriptor *desc, int budget_ms, gw_req *req, rec_hop *hop,
         const struct iovec *tail, int ntail)
{
	Rs__Status st = RS__STATUS__STATUS_OK;
	char err[160];
	int rv;

	hop->h_name = gw_downstream_names[ds];
	hop->h_called = 1;
	hdr->request_id = req->r_request_id;
	hdr->deadline_unix_ms = rs_now_ms() + budget_ms;
	double t0 = rs_mono_ms();
	hop->h_t0 = t0;
	if (budget_ms <= 0) {
		rv = RS_ETIMEDOUT;
	} else {
		size_t n = protobuf_c_message_get_packed_size(msg);
		uint8_t *body = rs_arena_alloc(req->r_arena, n + 1);
		struct iovec iov[4];
		if (ntail < 0 || ntail > 3) {
			rv = RS_EINVAL;
		} else if (body == NULL) {
			rv = RS_ENOMEM;
		} else {
			iov[0] = (struct iovec){body, protobuf_c_message_pack(msg, body)};
			for (int i = 0; i < ntail; i++)
				iov[1 + i] = tail[i];
			rv = rs_rpc_request_iov(srv->s_clients[ds], method, iov, 1 + ntail,
			                        budget_ms, req->r_arena, &hop->h_raw,
			                        &hop->h_raw_len, &st, err, sizeof(err));
		}
		if (rv == 0 && desc == NULL) {
			hop->h_resp = (void *) hop->h_raw;
		} else if (rv == 0 && (st == RS__STATUS__STATUS_OK || hop->h_raw_len > 0)) {
			hop->h_resp = protobuf_c_message_unpack(desc, rs_arena_pb(req->r_arena),
			                                        hop->h_raw_len, hop->h_raw);
			if (hop->h_resp == NULL && st == RS__STATUS__STATUS_OK)
				rv = RS_EPROTO;
		}
	}
	hop->h_ms = rs_mono_ms() - t0;
	hop->h_rv = rv;
	hop->h_status = st;
	if (rv == RS_EUNAVAIL) {
		hop->h_failure = "unavailable";
		snprintf(hop->h_err, sizeof(hop->h_err), "%s unavailable", hop->h_name);
	} else if (rv == RS_ETIMEDOUT || (rv == 0 && st == RS__STATUS__STATUS_DEADLINE)) {
		hop->h_failure = "timeout";
		snprintf(hop->h_err, sizeof(hop->h_err), "%s timed out after %.0f ms", hop->h_name,
		         hop->h_ms);
	} else if (rv != 0) {
		hop->h_failure = "error";
		snprintf(hop->h_err, sizeof(hop->h_err), "%s failed: %s", hop->h_name,
		         rs_strerror(rv));
	} else if (st != RS__STATUS__STATUS_OK || hop->h_resp == NULL) {
		hop->h_failure = st == RS__STATUS__STATUS_UNAVAILABLE ? "unavailable" : "error";
		snprintf(hop->h_err, sizeof(hop->h_err), "%s answered %s: %s", hop->h_name,
		         rs_rpc_status_name(st), err);
	} else {
		hop->h_ok = 1;
	}
	gw_metrics_hop(hop->h_name, hop->h_ms, hop->h_failure);
	return hop->h_ok;
}

static int
rec_budget(int64_t deadline, double share)
{
	int left = rs_deadline_left_ms(deadline, 0);
	if (share >= 1.0)
		return left - REC_RENDER_RESERVE > 0 ? left - REC_RENDER_RESERVE : left;
	int b = (int) (left * share);
	return b < 1 && left > 0 ? 1 : b;
}

/* The number of the repeated field `name` of message d (the contract in proto/, not a
 * constant here) when it holds values of `type` (messages of descriptor `of` for
 * PROTOBUF_C_TYPE_MESSAGE): the bytes the gateway passes on are then values of the declared
 * type of the field they go into, never a field re-read as another. 0 when there is no such
 * field. */
static uint32_t
rec_field(const ProtobufCMessageDescriptor *d, const char *name, ProtobufCType type,
          const ProtobufCMessageDescriptor *of)
{
	const ProtobufCFieldDescriptor *f =
	        protobuf_c_message_descriptor_get_field_by_name(d, name);
	if (f == NULL || f->type != type || f->label != PROTOBUF_C_LABEL_REPEATED ||
	    (type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != of))
		return 0;
	return f->id;
}

/* A field's tag and length (LEN wire type) at out (room for 15 bytes); returns the bytes. */
static size_t
rec_put_len_tag(uint8_t *out, uint32_t field, size_t len)
{
	size_t n = rs_pbw_put_varint(out, ((uint64_t) field << 3) | RS_PBW_LEN);
	return n + rs_pbw_put_varint(out + n, len);
}

/* feature's answer read as bytes: the header unpacked, the history events checked and
 * counted, not unpacked. They go on to candidate and ranking as they came: each HistoryEvent's
 * bytes under the request's own `recent` field (CandidatesRequest and RankRequest number it
 * alike), the embedding as packed floats. The whole answer is unpacked only by the paths that
 * read the history themselves (explain, answers without ranking, the popular fallback). */
typedef struct rec_feat {
	const uint8_t *rf_raw;
	size_t rf_raw_len;
	Rs__ResponseHeader *rf_header;
	size_t rf_n_recent;
	uint8_t *rf_recent; /* the events, each as field `recent` of the requests (arena) */
	size_t rf_recent_len;
	uint8_t *rf_emb; /* the embedding as field `embedding` of CandidatesRequest (arena) */
	size_t rf_emb_len;
} rec_feat;

/* The field numbers rec_feat_parse reads and writes, looked up once (rec_ff_init); 0 where the
 * contract does not hold (a field missing or of another type, or the requests number `recent`
 * differently): every answer is then RS_EPROTO. */
static struct {
	uint32_t header, recent, emb; /* UserFeaturesResponse's */
	uint32_t to_recent, to_emb;   /* CandidatesRequest's (RankRequest's `recent` the same) */
} rec_ff;
static pthread_once_t rec_ff_once = PTHREAD_ONCE_INIT;

static void
rec_ff_init(void)
{
	const ProtobufCMessageDescriptor *ev = &rs__history_event__descriptor;
	const ProtobufCFieldDescriptor *fh = protobuf_c_message_descriptor_get_field_by_name(
	        &rs__user_features_response__descriptor, "header");
	rec_ff.header =
	        fh != NULL && fh->descriptor == &rs__response_header__descriptor ? fh->id : 0;
	rec_ff.recent = rec_field(&rs__user_features_response__descriptor, "recent",
	                          PROTOBUF_C_TYPE_MESSAGE, ev);
	rec_ff.emb = rec_field(&rs__user_features_response__descriptor, "embedding",
	                       PROTOBUF_C_TYPE_FLOAT, NULL);
	rec_ff.to_recent = rec_field(&rs__candidates_request__descriptor, "recent",
	                             PROTOBUF_C_TYPE_MESSAGE, ev);
	rec_ff.to_emb = rec_field(&rs__candidates_request__descriptor, "embedding",
	                          PROTOBUF_C_TYPE_FLOAT, NULL);
	if (rec_ff.to_recent !=
	    rec_field(&rs__rank_request__descriptor, "recent", PROTOBUF_C_TYPE_MESSAGE, ev))
		rec_ff.to_recent = 0;
}

/* Returns 0, RS_EPROTO (malformed answer, or the contract above does not hold) or
 * RS_ENOMEM. */
static int
rec_feat_parse(rs_arena *arena, const uint8_t *raw, size_t len, rec_feat *rf)
{
	const uint8_t *p = raw, *end = raw + len;
	size_t nemb = 0;
	rs_pbw_field f;
	int rv;

	pthread_once(&rec_ff_once, rec_ff_init);
	uint32_t f_header = rec_ff.header, f_recent = rec_ff.recent, f_emb = rec_ff.emb;
	uint32_t to_recent = rec_ff.to_recent, to_emb = rec_ff.to_emb;
	memset(rf, 0, sizeof(*rf));
	rf->rf_raw = raw;
	rf->rf_raw_len = len;
	if (f_header == 0 || f_recent == 0 || f_emb == 0 || to_emb == 0 || to_recent == 0)
		return RS_EPROTO;
	/* Re-framed, an event (at least 2 bytes) takes at most 4 bytes more (a longer tag); the
	 * embedding's floats no more than they did. */
	if ((rf->rf_recent = rs_arena_alloc(arena, 3 * len + 16)) == NULL ||
	    (rf->rf_emb = rs_arena_alloc(arena, len + 16)) == NULL)
		return RS_ENOMEM;
	uint8_t *emb = rf->rf_emb + 15; /* the floats; their tag and length go before them */
	while ((rv = rs_pbw_next(&p, end, &f)) == 1) {
		if (f.f_num == f_header && f.f_type == RS_PBW_LEN) {
			rf->rf_header =
			        rs__response_header__unpack(rs_arena_pb(arena), f.f_len, f.f_data);
			if (rf->rf_header == NULL)
				return RS_EPROTO;
		} else if (f.f_num == f_recent && f.f_type == RS_PBW_LEN) {
			const uint8_t *q = f.f_data, *qend = f.f_data + f.f_len;
			rs_pbw_field g;
			int grv;
			while ((grv = rs_pbw_next(&q, qend, &g)) == 1)
				;
			if (grv != 0)
				return RS_EPROTO;
			rf->rf_recent_len += rec_put_len_tag(rf->rf_recent + rf->rf_recent_len,
			                                     to_recent, f.f_len);
			memcpy(rf->rf_recent + rf->rf_recent_len, f.f_data, f.f_len);
			rf->rf_recent_len += f.f_len;
			rf->rf_n_recent++;
		} else if (f.f_num == f_emb && f.f_type == RS_PBW_LEN && f.f_len % 4 == 0) {
			memcpy(emb + nemb, f.f_data, f.f_len); /* packed */
			nemb += f.f_len;
		} else if (f.f_num == f_emb && f.f_type == RS_PBW_I32) {
			for (int b = 0; b < 4;
			     b++) /* one float, unpacked: its little-endian bits */
				emb[nemb++] = (uint8_t) (f.f_varint >> (8 * b));
		} else if (f.f_num == f_header || f.f_num == f_recent || f.f_num == f_emb) {
			return RS_EPROTO;
		}
	}
	if (rv != 0)
		return RS_EPROTO;
	if (nemb > 0) {
		uint8_t tag[15];
		size_t tl = rec_put_len_tag(tag, to_emb, nemb);
		memcpy(emb - tl, tag, tl);
		rf->rf_emb = emb - tl;
		rf->rf_emb_len = tl + nemb;
	}
	return 0;
}

/* candidate's answer read as bytes: the header unpacked and the candidates counted, not
 * unpacked. It goes on to ranking as it came (RankRequest.retrieval); the whole answer is
 * unpacked only by the paths that render candidates themselves (explain, no ranking). */
typedef struct rec_cands {
	const uint8_t *rc_raw;
	size_t rc_raw_len;
	Rs__ResponseHeader *rc_header;
	size_t rc_n; /* candidates */
} rec_cands;

/* Returns 0, RS_EPROTO (malformed answer) or RS_ENOMEM. */
static int
rec_cands_parse(rs_arena *arena, const uint8_t *raw, size_t len, rec_cands *rc)
{
	const uint8_t *p = raw, *end = raw + len;
	rs_pbw_field f;
	int rv;

	memset(rc, 0, sizeof(*rc));
	rc->rc_raw = raw;
	rc->rc_raw_len = len;
	while ((rv = rs_pbw_next(&p, end, &f)) == 1) {
		if (f.f_num == 1 && f.f_type == RS_PBW_LEN) {
			rc->rc_header =
			        rs__response_header__unpack(rs_arena_pb(arena), f.f_len, f.f_data);
			if (rc->rc_header == NULL)
				return RS_EPROTO;
		} else if (f.f_num >= 2 && f.f_num <= 5 && f.f_type == RS_PBW_LEN) {
			rc->rc_n += f.f_num == 2;
		} else if (f.f_num <= 5) {
			return RS_EPROTO;
		}
	}
	return rv != 0 ? RS_EPROTO : 0;
}

/* RankRequest.retrieval (field 9): the candidate answer's bytes as the embedded message, after
 * the packed rest of the request: tag[] receives the field's tag and length (at most 11
 * bytes), iov[0] points at them and iov[1] at the answer's bytes where they are (sent from
 * there, not copied). */
static void
rec_retrieval_field(const rec_cands *rc, uint8_t tag[11], struct iovec iov[2])
{
	tag[0] = (9 << 3) | RS_PBW_LEN;
	iov[0] = (struct iovec){tag, 1 + rs_pbw_put_varint(tag + 1, rc->rc_raw_len)};
	iov[1] = (struct iovec){(void *) rc->rc_raw, rc->rc_raw_len};
}

/* The whole answer unpacked (explain and the paths without ranking). NULL if out of memory. */
static Rs__CandidatesResponse *
rec_cands_unpack(rs_arena *arena, const rec_cands *rc)
{
	return rs__candidates_response__unpack(rs_arena_pb(arena), rc->rc_raw_len, rc->rc_raw);
}

static const char *
rec_model_version(const Rs__ResponseHeader *h)
{
	return h != NULL && h->model_version != NULL ? h->model_version : "";
}

/* The first k candidates as response items, comma-separated, with reasons in rc's context. */
static void
rec_render_candidates(gw_jw *w, const Rs__CandidatesResponse *c, int k, const gw_reasons *rc)
{
	for (size_t i = 0; i < c->n_candidates && i < (size_t) k; i++) {
		if (i > 0)
			gw_jw_lit(w, ",");
		gw_render_candidate(w, c->candidates[i], rc);
	}
}

static int
rec_has_id(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* The cached popular list standing in for a customer's candidates: what the candidate service
 * would have removed for them and the history at hand shows (bought, not interested), and the
 * items the request excludes, leave it (in place; the order stays). */
static void
rec_popular_for(Rs__CandidatesResponse *c, const Rs__UserFeaturesResponse *feat,
                const int64_t *exclude, size_t n_exclude)
{
	size_t kept = 0;
	for (size_t i = 0; i < c->n_candidates; i++) {
		int64_t id = c->candidates[i]->item_id;
		int drop = rec_has_id(exclude, n_exclude, id);
		for (size_t e = 0; !drop && feat != NULL && e < feat->n_recent; e++)
			drop = feat->recent[e]->item_id == id &&
			       (feat->recent[e]->type == RS__EVENT_TYPE__EVENT_PURCHASE ||
			        feat->recent[e]->type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
		if (!drop)
			c->candidates[kept++] = c->candidates[i];
	}
	c->n_candidates = kept;
}

/* ---- the query parameters ---- */

typedef struct rec_what_if {
	Rs__EventType w_type;
	int64_t w_item;
} rec_what_if;

/* The what-if event types a person can try (no rating: it needs a value). */
static const struct {
	const char *name;
	Rs__EventType type;
} rec_what_if_types[] = {
        {"view", RS__EVENT_TYPE__EVENT_VIEW},
        {"click", RS__EVENT_TYPE__EVENT_CLICK},
        {"add_to_cart", RS__EVENT_TYPE__EVENT_ADD_TO_CART},
        {"purchase", RS__EVENT_TYPE__EVENT_PURCHASE},
        {"not_interested", RS__EVENT_TYPE__EVENT_NOT_INTERESTED},
};

/* A part of a comma-separated parameter, for error messages: at most 40 bytes, control
 * characters as '?'. */
static void
rec_part(char *out, size_t n, const char *p, size_t len)
{
	size_t m = len < n - 1 ? len : n - 1;
	if (m > 40)
		m = 40;
	for (size_t i = 0; i < m; i++)
		out[i] = (unsigned char) p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	out[m] = '\0';
}

/* A positive id from s[0..n) into *out: 0, or -1. */
static int
rec_part_id(const char *s, size_t n, int64_t *out)
{
	char id[24];
	if (n >= sizeof(id))
		return -1;
	memcpy(id, s, n);
	id[n] = '\0';
	return gw_parse_id(id, out);
}

/* One part of a list parameter: p[0..len), the idx'th (from 0), shown as it goes into an error
 * message. Returns 0, or RS_EINVAL after the 400 naming the part. */
typedef int (*rec_part_fn)(gw_req *req, const char *p, size_t len, size_t idx, const char *shown,
                           void *out);

/* name=PART[,PART...] (1..max parts, each through fn, which stores the idx'th into out);
 * absent: *n = 0. Returns 0, or RS_EINVAL after the 400 naming the bad part. */
static int
rec_parse_list(gw_req *req, const char *name, size_t max, const char *what, rec_part_fn fn,
               void *out, size_t *n)
{
	const char *s = gw_req_query(req, name);
	char part[48];
	size_t idx = 0;

	*n = 0;
	if (s == NULL)
		return 0;
	for (const char *p = s;; idx++) {
		size_t len = strcspn(p, ",");
		rec_part(part, sizeof(part), p, len);
		if (idx == max) {
			gw_reply_error(req, 400, "bad_request", "%s: at most %zu %s", name, max,
			               what);
			return RS_EINVAL;
		}
		if (fn(req, p, len, idx, part, out) != 0)
			return RS_EINVAL;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*n = idx + 1;
	return 0;
}

/* what_if=TYPE:ITEM[,TYPE:ITEM...] (1..REC_WHAT_IF_MAX): one part into
 * ((rec_what_if *) out)[idx]. */
static int
rec_what_if_part(gw_req *req, const char *p, size_t len, size_t idx, const char *shown, void *out)
{
	rec_what_if *w = (rec_what_if *) out + idx;
	const char *colon = memchr(p, ':', len);
	if (colon == NULL) {
		gw_reply_error(req, 400, "bad_request",
		               "what_if event %zu \"%s\": expected TYPE:ITEM (e.g. view:42)",
		               idx + 1, shown);
		return RS_EINVAL;
	}
	size_t tl = (size_t) (colon - p), t;
	for (t = 0; t < sizeof(rec_what_if_types) / sizeof(rec_what_if_types[0]); t++)
		if (strlen(rec_what_if_types[t].name) == tl &&
		    strncmp(rec_what_if_types[t].name, p, tl) == 0)
			break;
	if (t == sizeof(rec_what_if_types) / sizeof(rec_what_if_types[0])) {
		gw_reply_error(req, 400, "bad_request",
		               "what_if event %zu \"%s\": unknown type (view, click, "
		               "add_to_cart, purchase, not_interested)",
		               idx + 1, shown);
		return RS_EINVAL;
	}
	if (rec_part_id(colon + 1, len - tl - 1, &w->w_item) != 0) {
		gw_reply_error(req, 400, "bad_request",
		               "what_if event %zu \"%s\": the item must be a positive integer",
		               idx + 1, shown);
		return RS_EINVAL;
	}
	w->w_type = rec_what_if_types[t].type;
	return 0;
}

/* exclude=ID[,ID...] (1..REC_EXCLUDE_MAX positive ids): one part into ((int64_t *) out)[idx]. */
static int
rec_exclude_part(gw_req *req, const char *p, size_t len, size_t idx, const char *shown, void *out)
{
	if (rec_part_id(p, len, (int64_t *) out + idx) != 0) {
		gw_reply_error(req, 400, "bad_request",
		               "exclude item %zu \"%s\": must be a positive integer", idx + 1,
		               shown);
		return RS_EINVAL;
	}
	return 0;
}

/* version=V: admins only (403 forbidden otherwise), 1..REC_VERSION_MAX bytes without control
 * characters. *out NULL when absent. */
static int
rec_parse_version(gw_req *req, const char **out)
{
	const char *v = gw_req_query(req, "version");
	*out = NULL;
	if (v == NULL)
		return 0;
	if (req->r_who.p_role != GW_ROLE_ADMIN) {
		gw_reply_error(req, 403, "forbidden",
		               "version= is for admins: the other callers get the active version");
		return RS_EINVAL;
	}
	size_t n = strlen(v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f)
			n = 0;
	if (n == 0 || n > REC_VERSION_MAX) {
		gw_reply_error(req, 400, "bad_request",
		               "version must be 1..%d bytes without control characters",
		               REC_VERSION_MAX);
		return RS_EINVAL;
	}
	*out = v;
	return 0;
}

/* ---- explain ---- */

/* A hop as explain shows it: {"called","ok","ms","error"?}. */
static json_t *
rec_hop_explain(const rec_hop *hop)
{
	json_t *o = json_object();
	json_object_set_new(o, "called", json_boolean(hop->h_called));
	json_object_set_new(o, "ok", json_boolean(hop->h_ok));
	json_object_set_new(o, "ms", gw_json_ms(hop->h_ms));
	if (hop->h_failure != NULL)
		json_object_set_new(o, "error", gw_json_str(hop->h_err));
	return o;
}

/* explain.hops: the hops that ran and the render, on one axis from the request's start t0. */
static json_t *
rec_hops(const rec_hop *const *hops, size_t n, double t0, double render_t0, double end)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i <= n; i++) {
		json_t *o = json_object();
		if (i < n && !hops[i]->h_called) {
			json_decref(o);
			continue;
		}
		json_object_set_new(o, "name", json_string(i < n ? hops[i]->h_name : "render"));
		json_object_set_new(o, "start_ms",
		                    gw_json_ms(i < n ? hops[i]->h_t0 - t0 : render_t0 - t0));
		json_object_set_new(o, "ms", gw_json_ms(i < n ? hops[i]->h_ms : end - render_t0));
		json_object_set_new(o, "ok", json_boolean(i < n ? hops[i]->h_ok : 1));
		if (i < n && hops[i]->h_failure != NULL)
			json_object_set_new(o, "error", gw_json_str(hops[i]->h_err));
		json_array_append_new(a, o);
	}
	return a;
}

/* explain.feature.nearest: the items nearest to the embedding, which are the "als" source's
 * ranks 1..REC_NEAREST among the candidates (exact top-K of factors . embedding). */
static json_t *
rec_nearest(const Rs__CandidatesResponse *c)
{
	const Rs__Candidate *best[REC_NEAREST + 1] = {NULL};
	float score[REC_NEAREST + 1] = {0};
	json_t *a = json_array();

	for (size_t i = 0; c != NULL && i < c->n_candidates; i++)
		for (size_t s = 0; s < c->candidates[i]->n_sources; s++) {
			const Rs__SourceScore *src = c->candidates[i]->sources[s];
			if (src->source != NULL && strcmp(src->source, "als") == 0 &&
			    src->rank >= 1 && src->rank <= REC_NEAREST) {
				best[src->rank] = c->candidates[i];
				score[src->rank] = src->score;
			}
		}
	for (int r = 1; a != NULL && r <= REC_NEAREST; r++) {
		if (best[r] == NULL)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "item_id", json_integer(best[r]->item_id));
		json_object_set_new(o, "score", gw_json_f32(score[r]));
		json_array_append_new(a, o);
	}
	return a;
}

/* Every item id the explain mentions (history, candidates and their because items, ranked
 * items, filtered items) into the arena; *n the count (with duplicates). */
static int64_t *
rec_mentioned(rs_arena *a, const Rs__UserFeaturesResponse *feat,
              const Rs__CandidatesResponse *cands, const Rs__RankResponse *ranked, json_t *filtered,
              size_t *n)
{
	size_t cap = 0, m = 0;
	if (feat != NULL)
		cap += feat->n_recent;
	for (size_t i = 0; cands != NULL && i < cands->n_candidates; i++)
		cap += 1 + cands->candidates[i]->n_sources;
	if (ranked != NULL)
		cap += ranked->n_items;
	size_t fi;
	json_t *f;
	json_array_foreach(filtered, fi, f) cap += json_array_size(json_object_get(f, "items"));
	int64_t *ids = rs_arena_alloc(a, (cap ? cap : 1) * sizeof(*ids));
	if (ids == NULL)
		return NULL;
	for (size_t i = 0; feat != NULL && i < feat->n_recent; i++)
		ids[m++] = feat->recent[i]->item_id;
	for (size_t i = 0; cands != NULL && i < cands->n_candidates; i++) {
		const Rs__Candidate *c = cands->candidates[i];
		ids[m++] = c->item_id;
		for (size_t s = 0; s < c->n_sources; s++)
			if (c->sources[s]->because_item > 0)
				ids[m++] = c->sources[s]->because_item;
	}
	for (size_t i = 0; ranked != NULL && i < ranked->n_items; i++)
		ids[m++] = ranked->items[i]->item_id;
	json_array_foreach(filtered, fi, f)
	{
		size_t j;
		json_t *id;
		json_array_foreach(json_object_get(f, "items"), j, id) ids[m++] =
		        json_integer_value(id);
	}
	*n = m;
	return ids;
}

/* The explain object (the request's hops and answers, catalog facts for every id it names).
 * The catalog is one query through the pool; when the database cannot answer, the catalog is
 * empty and catalog_error says why. */
static json_t *
rec_explain(gw_server *srv, gw_req *req, int budget_ms, const rec_hop *fh, const rec_hop *ch,
            const rec_hop *rh, const Rs__UserFeaturesResponse *feat,
            const Rs__CandidatesResponse *cands, const Rs__RankResponse *ranked, int from_popular,
            int64_t popular_age, uint32_t requested_k)
{
	json_t *ex = json_object();
	json_t *fe = rec_hop_explain(fh);
	if (feat != NULL) {
		double norm = 0;
		json_object_update_new(fe, gw_render_explain_feature(feat));
		for (size_t i = 0; i < feat->n_embedding; i++)
			norm += (double) feat->embedding[i] * feat->embedding[i];
		json_object_set_new(fe, "embedding_norm", gw_json_num(sqrt(norm)));
	} else {
		json_object_set_new(fe, "embedding_norm", json_real(0));
	}
	json_object_set_new(fe, "nearest", rec_nearest(from_popular ? NULL : cands));

	json_t *ce = rec_hop_explain(ch);
	json_object_set_new(ce, "source",
	                    json_string(from_popular ? "popular_cache" : "candidate"));
	if (from_popular)
		json_object_set_new(ce, "cache_age_ms", json_integer(popular_age));
	json_object_set_new(ce, "requested_k", json_integer(requested_k));
	json_object_set_new(ce, "candidates", gw_render_explain_candidates(cands));
	json_object_set_new(ce, "source_stats", gw_render_explain_source_stats(cands));
	json_t *filtered = gw_render_explain_filtered(from_popular ? NULL : cands);
	json_object_set(ce, "filtered", filtered);

	json_t *re = rec_hop_explain(rh);
	if (ranked != NULL)
		json_object_update_new(re, gw_render_explain_ranking(ranked));

	size_t nids = 0;
	int64_t *ids = rec_mentioned(req->r_arena, feat, cands, ranked, filtered, &nids);
	gw_titles titles = {0};
	int rv = ids != NULL ? gw_titles_lookup(srv->s_db, req->r_arena, ids, nids, &titles)
	                     : RS_ENOMEM;
	json_object_set_new(ex, "catalog", gw_titles_json(&titles));
	if (rv != 0)
		json_object_set_new(ex, "catalog_error",
		                    json_string(rv == RS_EUNAVAIL ? "catalog unavailable: the "
		                                                    "database cannot be reached"
		                                                  : "catalog lookup failed"));
	json_decref(filtered);
	json_object_set_new(ex, "feature", fe);
	json_object_set_new(ex, "candidate", ce);
	json_object_set_new(ex, "ranking", re);
	json_object_set_new(ex, "deadline_ms", json_integer(budget_ms));
	return ex;
}

/* A downstream that says the named version is not published: 404 for the whole request. */
static int
rec_version_missing(gw_req *req, const char *version, const rec_hop *hop)
{
	if (version == NULL || hop->h_rv != 0 || hop->h_status != RS__STATUS__STATUS_NOT_FOUND)
		return 0;
	gw_reply_error(req, 404, "not_found", "model version \"%s\" is not published (%s)", version,
	               hop->h_name);
	return 1;
}

/* ,"rec_id":"<fresh id>","request_id":"<the request's>". Every list answer has a rec_id: the
 * events and impressions that come from the list carry it, so any list can be attributed.
 * rec_id (33 bytes, or NULL) receives the id. */
static void
rec_write_ids(gw_jw *w, const gw_req *req, char *rec_id_out)
{
	char rec_id[33];
	rs_proc_random_id(rec_id, sizeof(rec_id));
	if (rec_id_out != NULL)
		memcpy(rec_id_out, rec_id, sizeof(rec_id));
	gw_jw_lit(w, ",\"rec_id\":");
	gw_jw_str(w, rec_id);
	gw_jw_lit(w, ",\"request_id\":");
	gw_jw_str(w, req->r_request_id);
}

void
gw_handle_recommend(gw_server *srv, gw_req *req)
{
	double t0 = rs_mono_ms(); /* the request's start: explain's time axis */
	int64_t user_id;
	int k, explain;
	rec_hop fh = {0}, ch = {0}, rh = {0};
	char reasons[512] = "";
	size_t rlen = 0;
	const char *deg_stage[4];
	int ndeg = 0;
	rec_what_if what_if[REC_WHAT_IF_MAX];
	int64_t exclude[REC_EXCLUDE_MAX];
	size_t n_what_if = 0, n_exclude = 0;
	const char *version = NULL;

	if (gw_parse_id(req->r_params[0], &user_id) != 0) {
		gw_reply_error(req, 400, "bad_request", "user id must be a positive integer");
		return;
	}
	if (gw_query_int(req, "k", 1, REC_K_MAX, REC_K_DEFAULT, &k) != 0)
		return;
	if ((explain = gw_query_flag(req, "explain")) < 0) {
		gw_reply_error(req, 400, "bad_request", "explain must be 0 or 1");
		return;
	}
	if (rec_parse_version(req, &version) != 0 ||
	    rec_parse_list(req, "what_if", REC_WHAT_IF_MAX, "events", rec_what_if_part, what_if,
	                   &n_what_if) != 0 ||
	    rec_parse_list(req, "exclude", REC_EXCLUDE_MAX, "items", rec_exclude_part, exclude,
	                   &n_exclude) != 0)
		return;
	/* The running experiment's variant for this customer (experiments.h): its model version
	 * goes to every hop, or its strategy "popular" serves the popular list. An admin's
	 * version= is a look at that version, outside any experiment. */
	gw_exp_assignment asg;
	const char *serve = version; /* the version every hop serves (NULL: the active one) */
	if (version == NULL)
		gw_experiments_assign(srv->s_experiments, user_id, &asg);
	else
		memset(&asg, 0, sizeof(asg));
	int strategy_popular = asg.a_experiment != 0 && asg.a_popular;
	if (asg.a_experiment != 0 && !asg.a_popular) /* "": a kind without versions: the active */
		serve = asg.a_version[0] != '\0' ? asg.a_version : NULL;
	/* A request that names a version (an admin's comparison, an experiment's variant) gets
	 * its own budget: the first one for a version opens it in three services. */
	int budget = srv->s_cfg.deadline_ms;
	if (serve != NULL && srv->s_cfg.version_deadline_ms > budget)
		budget = srv->s_cfg.version_deadline_ms;
	int64_t deadline = rs_now_ms() + budget;
	fh.h_name = "feature";
	ch.h_name = "candidate";
	rh.h_name = "ranking";

	/* 1. feature: the user's recent history and online vector (what-if events folded in). */
	Rs__RequestHeader fhdr = RS__REQUEST_HEADER__INIT;
	Rs__UserFeaturesRequest freq = RS__USER_FEATURES_REQUEST__INIT;
	Rs__HistoryEvent hyp[REC_WHAT_IF_MAX], *hyp_p[REC_WHAT_IF_MAX];
	fhdr.model_version = (char *) serve;
	freq.header = &fhdr;
	freq.user_id = user_id;
	for (size_t i = 0; i < n_what_if; i++) {
		rs__history_event__init(&hyp[i]);
		hyp[i].item_id = what_if[i].w_item;
		hyp[i].type = what_if[i].w_type;
		hyp_p[i] = &hyp[i];
	}
	freq.n_hypothetical = n_what_if;
	freq.hypothetical = hyp_p;
	Rs__UserFeaturesResponse *feat =
	        NULL; /* unpacked: only when the answer reads the history */
	rec_feat rf = {0};
	int have_feat = 0;
	if (rec_call(srv, GW_FEATURE, RS__METHOD__METHOD_USER_FEATURES, &freq.base, &fhdr, NULL,
	             rec_budget(deadline, 1.0 / 3), req, &fh, NULL, 0)) {
		int prv = rec_feat_parse(req->r_arena, fh.h_raw, fh.h_raw_len, &rf);
		if (prv != 0) {
			rec_hop_failed(&fh, prv);
			deg_stage[ndeg++] = "feature";
			memset(&rf, 0, sizeof(rf)); /* nothing of it goes on */
		} else {
			have_feat = 1;
		}
	} else if (rec_version_missing(req, version, &fh)) {
		return;
	} else {
		deg_stage[ndeg++] = "feature";
	}

	/* 2. candidate: retrieval, with the history when we have it. */
	Rs__RequestHeader chdr = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesRequest creq = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter cfilt = RS__CANDIDATE_FILTER__INIT;
	chdr.model_version = (char *) serve;
	creq.header = &chdr;
	creq.user_id = user_id;
	if (n_exclude > 0) {
		cfilt.n_exclude_items = n_exclude;
		cfilt.exclude_items = exclude;
		creq.filter = &cfilt;
	}
	int cmin = srv->s_cfg.candidates_min;
	creq.k = (uint32_t) (REC_CAND_PER_K * k > cmin ? REC_CAND_PER_K * k : cmin);
	if (creq.k > REC_CAND_MAX)
		creq.k = REC_CAND_MAX;
	/* The history and the embedding follow the packed rest as feature sent them. */
	struct iovec hist[2] = {{rf.rf_recent, rf.rf_recent_len}, {rf.rf_emb, rf.rf_emb_len}};
	/* Tells candidate which version's factors the embedding lives in, so a version switch
	 * between the two hops never mixes factor spaces. */
	if (have_feat && rf.rf_header != NULL && rf.rf_header->model_version != NULL)
		creq.embedding_version = rf.rf_header->model_version;
	/* Only a plain answer may stand for everyone's popular list. */
	int plain = serve == NULL && n_what_if == 0 && n_exclude == 0;
	Rs__CandidatesResponse *cands = NULL; /* unpacked: the popular list, or when needed */
	rec_cands rc = {0};
	int from_popular = 0;
	int64_t popular_age = 0;
	if (strategy_popular) {
		/* the variant's list: the popular one (one live fetch when none is cached yet) */
		if (gw_popular_load(srv->s_popular, req->r_arena, &cands, &popular_age) != 0 &&
		    (gw_popular_fetch(srv->s_popular, rec_budget(deadline, 0.5),
		                      req->r_request_id) != 0 ||
		     gw_popular_load(srv->s_popular, req->r_arena, &cands, &popular_age) != 0)) {
			req->r_note = "candidate_down";
			gw_reply_error(req, 503, "unavailable",
			               "no popular list for experiment variant \"%s\"",
			               asg.a_variant);
			return;
		}
		from_popular = 1;
	} else if (rec_call(srv, GW_CANDIDATE, RS__METHOD__METHOD_CANDIDATES, &creq.base, &chdr,
	                    NULL, rec_budget(deadline, 0.5), req, &ch, hist, have_feat ? 2 : 0)) {
		int prv = rec_cands_parse(req->r_arena, ch.h_raw, ch.h_raw_len, &rc);
		if (prv != 0) {
			rec_hop_failed(&ch, prv);
		} else if (plain && have_feat && rf.rf_n_recent == 0) {
			gw_popular_offer_packed(srv->s_popular, rc.rc_raw, rc.rc_raw_len, rc.rc_n,
			                        REC_POPULAR_OFFER);
		}
	} else if (rec_version_missing(req, version, &ch)) {
		return;
	}
	if (!strategy_popular && !ch.h_ok && version != NULL) {
		/* the cached popular list is the active version's: no answer for the one named */
		gw_metrics_degraded("candidate");
		req->r_note = "candidate_down";
		gw_reply_error(req, 503, "unavailable", "%s (model version \"%s\")", ch.h_err,
		               version);
		return;
	}
	if (!strategy_popular && !ch.h_ok) {
		deg_stage[ndeg++] = "candidate";
		if (gw_popular_load(srv->s_popular, req->r_arena, &cands, &popular_age) == 0) {
			from_popular = 1;
		} else {
			gw_metrics_degraded("candidate");
			req->r_note = "candidate_down";
			gw_reply_error(req, 503, "unavailable", "%s and no popular list is cached",
			               ch.h_err);
			return;
		}
	}

	/* 3. ranking: second stage over candidate's answer, passed on as it came. With explain,
	 * every candidate sent comes back with its features and their contributions. */
	Rs__RankResponse *ranked = NULL;
	if (!from_popular && rc.rc_n > 0) {
		uint8_t tag[11];
		struct iovec tail[3] = {{rf.rf_recent, rf.rf_recent_len}};
		rec_retrieval_field(&rc, tag, tail + 1);
		Rs__RequestHeader rhdr = RS__REQUEST_HEADER__INIT;
		Rs__RankRequest rreq = RS__RANK_REQUEST__INIT;
		rhdr.model_version = (char *) serve;
		rreq.header = &rhdr;
		rreq.user_id = user_id;
		rreq.k = (uint32_t) k;
		rreq.explain = explain;
		rreq.explain_items = explain ? (uint32_t) rc.rc_n : 0;
		if (rec_call(srv, GW_RANKING, RS__METHOD__METHOD_RANK, &rreq.base, &rhdr,
		             &rs__rank_response__descriptor, rec_budget(deadline, 1.0), req, &rh,
		             tail, 3))
			ranked = rh.h_resp;
		else if (rec_version_missing(req, version, &rh))
			return;
		else
			deg_stage[ndeg++] = "ranking";
	}
	double render_t0 = rs_mono_ms();
	/* Without ranking (or for explain) the whole candidate answer is needed; one that cannot
	 * be read counts as a failed candidate hop. */
	if (cands == NULL && (ranked == NULL || explain) &&
	    (cands = rec_cands_unpack(req->r_arena, &rc)) == NULL) {
		rec_hop_failed(&ch, RS_EPROTO);
		deg_stage[ndeg++] = "candidate";
		if (version != NULL ||
		    gw_popular_load(srv->s_popular, req->r_arena, &cands, &popular_age) != 0) {
			gw_metrics_degraded("candidate");
			req->r_note = "candidate_down";
			gw_reply_error(req, 503, "unavailable", "%s and no popular list is cached",
			               ch.h_err);
			return;
		}
		from_popular = 1;
		ranked = NULL;
	}

	/* The history itself: for explain and for answers without ranking (their reasons, the
	 * popular list without what the customer bought or said no to). */
	if (have_feat && (explain || ranked == NULL) &&
	    (feat = rs__user_features_response__unpack(rs_arena_pb(req->r_arena), rf.rf_raw_len,
	                                               rf.rf_raw)) == NULL) {
		gw_reply_error(req, 502, "bad_gateway", "feature's answer cannot be read");
		return;
	}

	/* Render. The popular list stands in for this customer's candidates: without what they
	 * bought or said no to. Reasons name only what this answer shows (the history at hand). */
	if (from_popular)
		rec_popular_for(cands, feat, exclude, n_exclude);
	rs_reason_hist rhist = {NULL,
	                        0}; /* only the reasons of candidates served unranked use it */
	if (ranked == NULL && feat != NULL &&
	    rs_reason_hist_build(req->r_arena, feat->recent, feat->n_recent, &rhist) != 0) {
		gw_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	gw_reasons rctx = {&rhist, 0, cands};
	const rec_hop *failed[3] = {&fh, &ch, &rh};
	for (int i = 0; i < 3; i++) {
		if (failed[i]->h_failure == NULL)
			continue;
		const char *what = i == 0   ? "; served without history"
		                   : i == 1 ? "; served the cached popular list"
		                            : "; served in candidate order";
		rlen += (size_t) snprintf(reasons + rlen, sizeof(reasons) - rlen, "%s%s%s",
		                          rlen > 0 ? "; " : "", failed[i]->h_err, what);
		if (rlen >= sizeof(reasons))
			rlen = sizeof(reasons) - 1;
	}
	for (int i = 0; i < ndeg; i++)
		gw_metrics_degraded(deg_stage[i]);

	const char *model_version = rec_model_version(cands != NULL ? cands->header : rc.rc_header);
	if (ranked != NULL && rec_model_version(ranked->header)[0] != '\0')
		model_version = rec_model_version(ranked->header);
	gw_jw w;
	gw_jw_init(&w, explain ? 65536 : 4096);
	gw_jw_lit(&w, "{\"user_id\":");
	gw_jw_int(&w, user_id);
	gw_jw_lit(&w, ",\"model_version\":");
	gw_jw_str(&w, model_version);
	gw_jw_lit(&w, ",\"experiment\":");
	if (asg.a_experiment != 0) {
		gw_jw_int(&w, asg.a_experiment);
		gw_jw_lit(&w, ",\"variant\":");
		gw_jw_str(&w, asg.a_variant);
	} else {
		gw_jw_lit(&w, "null,\"variant\":null");
	}
	char rec_id[33];
	rec_write_ids(&w, req, rec_id);
	gw_jw_lit(&w, ",\"items\":[");
	int64_t served[REC_K_MAX];
	size_t n_served = 0;
	if (ranked != NULL) {
		for (size_t i = 0; i < ranked->n_items && i < (size_t) k; i++) {
			if (i > 0)
				gw_jw_lit(&w, ",");
			gw_render_ranked(&w, ranked->items[i]);
			served[n_served++] = ranked->items[i]->item_id;
		}
	} else {
		rec_render_candidates(&w, cands, k, &rctx);
		for (size_t i = 0; i < cands->n_candidates && i < (size_t) k; i++)
			served[n_served++] = cands->candidates[i]->item_id;
	}
	/* The impression of record: the list as served (impressions.h), queued, never waited
	 * for. A what-if answer is a hypothetical look, not a list the customer was shown. */
	if (srv->s_cfg.record_impressions && n_what_if == 0 && n_served > 0) {
		gw_served_list sl = {
		        .l_rec_id = rec_id,
		        .l_user_id = user_id,
		        .l_experiment = asg.a_experiment,
		        .l_variant = asg.a_experiment != 0 ? asg.a_variant : NULL,
		        .l_model_version = model_version,
		        .l_degraded = ndeg > 0,
		        .l_items = served,
		        .l_n = n_served,
		};
		(void) gw_impressions_record(srv->s_impressions, &sl);
	}
	gw_jw_lit(&w, "],\"degraded\":");
	gw_jw_bool(&w, ndeg > 0);
	if (ndeg > 0) {
		gw_jw_lit(&w, ",\"degraded_reason\":");
		gw_jw_str(&w, reasons);
	}
	if (n_what_if > 0) {
		gw_jw_lit(&w, ",\"what_if\":[");
		for (size_t i = 0; i < n_what_if; i++) {
			if (i > 0)
				gw_jw_lit(&w, ",");
			gw_jw_lit(&w, "{\"type\":");
			gw_jw_str(&w, gw_event_type_name(what_if[i].w_type));
			gw_jw_lit(&w, ",\"item_id\":");
			gw_jw_int(&w, what_if[i].w_item);
			gw_jw_lit(&w, "}");
		}
		gw_jw_lit(&w, "]");
	}
	json_t *ex = explain ? rec_explain(srv, req, budget, &fh, &ch, &rh, feat, cands,
	                                   from_popular ? NULL : ranked, from_popular, popular_age,
	                                   creq.k)
	                     : NULL;
	double end = rs_mono_ms(); /* the render hop ends here: only the explain text remains */
	gw_jw_lit(&w, ",\"timings_ms\":{\"feature\":");
	gw_jw_ms(&w, fh.h_ms);
	gw_jw_lit(&w, ",\"candidate\":");
	gw_jw_ms(&w, ch.h_ms);
	gw_jw_lit(&w, ",\"ranking\":");
	gw_jw_ms(&w, rh.h_ms);
	gw_jw_lit(&w, ",\"total\":");
	gw_jw_ms(&w, end - t0);
	gw_jw_lit(&w, "}");
	if (ex != NULL) {
		const rec_hop *hops[3] = {&fh, &ch, &rh};
		json_object_set_new(ex, "hops", rec_hops(hops, 3, t0, render_t0, end));
		gw_jw_lit(&w, ",\"explain\":");
		gw_jw_json(&w, ex);
	}
	gw_jw_lit(&w, "}");
	if (ndeg > 0)
		req->r_note = "degraded";
	gw_reply_jw(req, 200, &w);
}

/* GET /v1/items/{id}/similar (mode "") and /v1/items/{id}/bought-together: the same answer
 * from SimilarRequest{mode}. */
static void
rec_similar(gw_server *srv, gw_req *req, const char *mode)
{
	int64_t item_id;
	int k;
	rec_hop hop = {0};

	if (gw_parse_id(req->r_params[0], &item_id) != 0) {
		gw_reply_error(req, 400, "bad_request", "item id must be a positive integer");
		return;
	}
	if (gw_query_int(req, "k", 1, REC_K_MAX, REC_K_DEFAULT, &k) != 0)
		return;
	Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
	Rs__SimilarRequest sreq = RS__SIMILAR_REQUEST__INIT;
	sreq.header = &hdr;
	sreq.item_id = item_id;
	sreq.k = (uint32_t) k;
	sreq.mode = (char *) mode;
	if (!rec_call(srv, GW_CANDIDATE, RS__METHOD__METHOD_SIMILAR, &sreq.base, &hdr,
	              &rs__candidates_response__descriptor, srv->s_cfg.deadline_ms, req, &hop, NULL,
	              0)) {
		if (hop.h_rv == 0 && hop.h_status == RS__STATUS__STATUS_NOT_FOUND)
			gw_reply_error(req, 404, "not_found", "item %lld is not known",
			               (long long) item_id);
		else if (hop.h_rv == 0 && hop.h_status == RS__STATUS__STATUS_INVALID)
			gw_reply_error(req, 400, "bad_request", "%s", hop.h_err);
		else
			gw_reply_error(req, 503, "unavailable", "%s", hop.h_err);
		return;
	}
	Rs__CandidatesResponse *r = hop.h_resp;
	gw_jw w;
	gw_jw_init(&w, 4096);
	gw_jw_lit(&w, "{\"item_id\":");
	gw_jw_int(&w, item_id);
	gw_jw_lit(&w, ",\"model_version\":");
	gw_jw_str(&w, rec_model_version(r->header));
	rec_write_ids(&w, req, NULL);
	gw_jw_lit(&w, ",\"items\":[");
	gw_reasons rctx = {NULL, item_id, NULL}; /* a list for everyone about item_id */
	rec_render_candidates(&w, r, k, &rctx);
	gw_jw_lit(&w, "]}");
	gw_reply_jw(req, 200, &w);
}

void
gw_handle_similar(gw_server *srv, gw_req *req)
{
	rec_similar(srv, req, "");
}

void
gw_handle_bought_together(gw_server *srv, gw_req *req)
{
	rec_similar(srv, req, "bought_together");
}

/* 1 when category is cat or a path below it ("Home" matches "Home/Kitchen", not "Homeware");
 * n = strlen(cat) without a trailing '/'. */
static int
rec_in_category(const char *category, const char *cat, size_t n)
{
	return category != NULL && strncmp(category, cat, n) == 0 &&
	       (category[n] == '\0' || category[n] == '/');
}

/* The popular answer: the first k of r, with the age of the list it came from. */
static void
rec_reply_popular(gw_req *req, const Rs__CandidatesResponse *r, int k, int64_t age)
{
	gw_jw w;
	gw_jw_init(&w, 4096);
	gw_jw_lit(&w, "{\"model_version\":");
	gw_jw_str(&w, rec_model_version(r->header));
	rec_write_ids(&w, req, NULL);
	gw_jw_lit(&w, ",\"items\":[");
	gw_reasons rctx = {NULL, 0, NULL}; /* a list for everyone */
	rec_render_candidates(&w, r, k, &rctx);
	gw_jw_lit(&w, "],\"age_ms\":");
	gw_jw_int(&w, age);
	gw_jw_lit(&w, "}");
	gw_reply_jw(req, 200, &w);
}

/* GET /v1/popular?category=: a live CandidatesRequest{user_id 0, filter.category}; when the
 * candidate service cannot answer, the cached list restricted to the category. */
static void
rec_popular_category(gw_server *srv, gw_req *req, const char *cat, int k)
{
	rec_hop hop = {0};
	Rs__CandidatesResponse *r = NULL;
	int64_t age = 0;
	size_t n = strlen(cat);

	if (n > 0 && cat[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) cat[i] < 0x20 || cat[i] == 0x7f)
			n = 0;
	if (n == 0 || n > 1200) {
		gw_reply_error(req, 400, "bad_request",
		               "category must be a category path without control characters");
		return;
	}
	char *prefix = rs_arena_alloc(req->r_arena, n + 1);
	if (prefix == NULL) {
		gw_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	memcpy(prefix, cat, n);
	prefix[n] = '\0';
	Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesRequest creq = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter filt = RS__CANDIDATE_FILTER__INIT;
	filt.category = prefix;
	creq.header = &hdr;
	creq.user_id = 0;
	creq.k = (uint32_t) k;
	creq.filter = &filt;
	if (rec_call(srv, GW_CANDIDATE, RS__METHOD__METHOD_CANDIDATES, &creq.base, &hdr,
	             &rs__candidates_response__descriptor, srv->s_cfg.deadline_ms, req, &hop, NULL,
	             0)) {
		r = hop.h_resp;
	} else if (gw_popular_load(srv->s_popular, req->r_arena, &r, &age) == 0) {
		size_t kept = 0; /* the cached list, restricted to the category */
		for (size_t i = 0; i < r->n_candidates; i++)
			if (rec_in_category(r->candidates[i]->category, prefix, n))
				r->candidates[kept++] = r->candidates[i];
		r->n_candidates = kept;
		req->r_note = "degraded";
	} else {
		gw_reply_error(req, 503, "unavailable", "%s and no popular list is cached",
		               hop.h_err);
		return;
	}
	rec_reply_popular(req, r, k, age);
}

void
gw_handle_popular(gw_server *srv, gw_req *req)
{
	int k;
	Rs__CandidatesResponse *r = NULL;
	int64_t age = 0;

	if (gw_query_int(req, "k", 1, REC_K_MAX, REC_K_DEFAULT, &k) != 0)
		return;
	const char *cat = gw_req_query(req, "category");
	if (cat != NULL) {
		rec_popular_category(srv, req, cat, k);
		return;
	}
	if (gw_popular_load(srv->s_popular, req->r_arena, &r, &age) != 0) {
		/* Nothing cached yet: one live attempt before giving up. */
		int rv =
		        gw_popular_fetch(srv->s_popular, srv->s_cfg.deadline_ms, req->r_request_id);
		if (rv != 0 || gw_popular_load(srv->s_popular, req->r_arena, &r, &age) != 0) {
			gw_reply_error(req, 503, "unavailable", "no popular list yet: candidate %s",
			               rs_strerror(rv));
			return;
		}
	}
	rec_reply_popular(req, r, k, age);
}
