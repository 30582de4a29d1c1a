#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
gw_json_str(const char *s)
{
	if (s == NULL)
		s = "";
	json_t *j = json_string(s);
	if (j != NULL)
		return j;
	/* Invalid UTF-8 (or out of memory): replace the bad bytes and try again. */
	size_t len = strlen(s);
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = gw_utf8_seq((const unsigned char *) s + i);
		if (n == 0) {
			copy[o++] = '?';
			i++;
		} else {
			memcpy(copy + o, s + i, n);
			o += n;
			i += n;
		}
	}
	copy[o] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *
gw_json_num(double v)
{
	return json_real(isfinite(v) ? v : 0.0);
}

json_t *
gw_json_f32(float v)
{
	char buf[32];
	if (!isfinite(v))
		return json_real(0.0);
	snprintf(buf, sizeof(buf), "%.6g", (double) v);
	return json_real(strtod(buf, NULL));
}

json_t *
gw_json_ms(double ms)
{
	if (!isfinite(ms) || ms < 0)
		ms = 0;
	return json_real(round(ms * 1000.0) / 1000.0);
}

const char *
gw_event_type_name(int type)
{
	static const char *const names[] = {"unspecified", "view",   "click",         "add_to_cart",
	                                    "purchase",    "rating", "not_interested"};
	return type >= 0 && type < 7 ? names[type] : "unknown";
}

json_t *
gw_render_sources(Rs__SourceScore *const *s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "source", gw_json_str(s[i]->source));
		json_object_set_new(o, "score", gw_json_f32(s[i]->score));
		json_object_set_new(o, "rank", json_integer(s[i]->rank));
		if (s[i]->because_item != 0)
			json_object_set_new(o, "because_item", json_integer(s[i]->because_item));
		json_array_append_new(a, o);
	}
	return a;
}

/* One response item: {"item_id","score","reason","title","category","price","sources"}. */
static void
render_item(gw_jw *w, int64_t item_id, float score, const char *reason, const char *title,
            const char *category, double price, Rs__SourceScore *const *src, size_t nsrc)
{
	gw_jw_lit(w, "{\"item_id\":");
	gw_jw_int(w, item_id);
	gw_jw_lit(w, ",\"score\":");
	gw_jw_f32(w, score);
	gw_jw_lit(w, ",\"reason\":");
	gw_jw_str(w, reason);
	gw_jw_lit(w, ",\"title\":");
	gw_jw_str(w, title);
	gw_jw_lit(w, ",\"category\":");
	gw_jw_str(w, category);
	gw_jw_lit(w, ",\"price\":");
	gw_jw_real(w, price);
	gw_jw_lit(w, ",\"sources\":[");
	for (size_t i = 0; i < nsrc; i++) {
		if (i > 0)
			gw_jw_lit(w, ",");
		gw_jw_lit(w, "{\"source\":");
		gw_jw_str(w, src[i]->source);
		gw_jw_lit(w, ",\"score\":");
		gw_jw_f32(w, src[i]->score);
		gw_jw_lit(w, ",\"rank\":");
		gw_jw_int(w, src[i]->rank);
		if (src[i]->because_item != 0) {
			gw_jw_lit(w, ",\"because_item\":");
			gw_jw_int(w, src[i]->because_item);
		}
		gw_jw_lit(w, "}");
	}
	gw_jw_lit(w, "]}");
}

void
gw_render_ranked(gw_jw *w, const Rs__RankedItem *it)
{
	render_item(w, it->item_id, it->score, it->reason, it->title, it->category, it->price,
	            it->sources, it->n_sources);
}

/* A history item's title, when the item is among the answer's candidates. */
static const char *
reason_title(void *ctx, int64_t id)
{
	const Rs__CandidatesResponse *c = ctx;
	for (size_t i = 0; c != NULL && i < c->n_candidates; i++)
		if (c->candidates[i]->item_id == id)
			return c->candidates[i]->title;
	return NULL;
}

const char *
gw_candidate_reason(const Rs__Candidate *c, const gw_reasons *rc, char *buf, size_t n)
{
	rs_reason_in in = {
	        .hist = rc->r_hist,
	        .anchor = rc->r_anchor,
	        .sources = c->sources,
	        .n_sources = c->n_sources,
	        .category = c->category,
	        .title = reason_title,
	        .title_ctx = (void *) rc->r_titles,
	};
	rs_reason_write(&in, buf, n);
	return buf;
}

void
gw_render_candidate(gw_jw *w, const Rs__Candidate *c, const gw_reasons *rc)
{
	char buf[256];
	render_item(w, c->item_id, c->score, gw_candidate_reason(c, rc, buf, sizeof(buf)), c->title,
	            c->category, c->price, c->sources, c->n_sources);
}

json_t *
gw_render_explain_feature(const Rs__UserFeaturesResponse *f)
{
	json_t *o = json_object(), *recent = json_array();
	if (o == NULL || recent == NULL) {
		json_decref(o);
		json_decref(recent);
		return NULL;
	}
	for (size_t i = 0; i < f->n_recent; i++) {
		const Rs__HistoryEvent *e = f->recent[i];
		json_t *eo = json_object();
		json_object_set_new(eo, "item_id", json_integer(e->item_id));
		json_object_set_new(eo, "type", json_string(gw_event_type_name(e->type)));
		json_object_set_new(eo, "ts_ms", json_integer(e->ts_ms));
		json_object_set_new(eo, "value", gw_json_num(e->value));
		json_array_append_new(recent, eo);
	}
	json_object_set_new(o, "known_user", json_boolean(f->known_user));
	json_object_set_new(o, "total_events", json_integer(f->total_events));
	json_object_set_new(o, "embedding_dim", json_integer((json_int_t) f->n_embedding));
	json_object_set_new(o, "recent", recent);
	return o;
}

json_t *
gw_render_explain_candidates(const Rs__CandidatesResponse *c)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < c->n_candidates; i++) {
		const Rs__Candidate *cd = c->candidates[i];
		json_t *o = json_object();
		json_object_set_new(o, "item_id", json_integer(cd->item_id));
		json_object_set_new(o, "score", gw_json_f32(cd->score));
		json_object_set_new(o, "sources", gw_render_sources(cd->sources, cd->n_sources));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
gw_render_explain_source_stats(const Rs__CandidatesResponse *c)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && c != NULL && i < c->n_source_stats; i++) {
		const Rs__SourceStats *s = c->source_stats[i];
		json_t *o = json_object();
		json_object_set_new(o, "source", gw_json_str(s->source));
		json_object_set_new(o, "count", json_integer(s->count));
		json_object_set_new(o, "top", gw_json_f32(s->top));
		json_object_set_new(o, "low", gw_json_f32(s->low));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
gw_render_explain_filtered(const Rs__CandidatesResponse *c)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && c != NULL && i < c->n_filtered; i++) {
		const Rs__FilterCount *f = c->filtered[i];
		json_t *o = json_object(), *items = json_array();
		for (size_t k = 0; items != NULL && k < f->n_items; k++)
			json_array_append_new(items, json_integer(f->items[k]));
		json_object_set_new(o, "reason", gw_json_str(f->reason));
		json_object_set_new(o, "count", json_integer(f->count));
		json_object_set_new(o, "items", items);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
gw_render_explain_ranking(const Rs__RankResponse *r)
{
	json_t *out = json_object(), *a = json_array();
	if (out == NULL || a == NULL) {
		json_decref(out);
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < r->n_items; i++) {
		const Rs__RankedItem *it = r->items[i];
		json_t *o = json_object(), *feats = json_array();
		for (size_t f = 0; feats != NULL && f < it->n_features; f++) {
			const Rs__Feature *ft = it->features[f];
			json_t *fo = json_object();
			json_object_set_new(fo, "name", gw_json_str(ft->name));
			json_object_set_new(fo, "label",
			                    gw_json_str(ft->label != NULL && ft->label[0] != '\0'
			                                        ? ft->label
			                                        : ft->name));
			json_object_set_new(fo, "value", gw_json_f32(ft->value));
			json_object_set_new(fo, "contribution", gw_json_f32(ft->contribution));
			json_array_append_new(feats, fo);
		}
		json_object_set_new(o, "item_id", json_integer(it->item_id));
		json_object_set_new(o, "score", gw_json_f32(it->score));
		json_object_set_new(o, "features", feats);
		json_array_append_new(a, o);
	}
	json_object_set_new(out, "ranker", gw_json_str(r->ranker));
	json_object_set_new(out, "base_score", gw_json_f32(r->base_score));
	json_object_set_new(out, "contributions", gw_json_str(r->contributions));
	json_object_set_new(out, "items", a);
	return out;
}
