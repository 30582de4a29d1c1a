/* render: protobuf answers -> JSON for HTTP clients. The response items are written straight
 * into a gw_jw (jsonw.h); the json_t functions return a new reference (NULL only when out of
 * memory). Invalid UTF-8 and non-finite numbers are made safe rather than dropped. */
#ifndef GW_RENDER_H
#define GW_RENDER_H

#include <jansson.h>

#include "candidate.pb-c.h"
#include "feature.pb-c.h"
#include "jsonw.h"
#include "ranking.pb-c.h"
#include "rs_reason.h"

/* gw_json_str: a JSON string of s (NULL -> ""), with invalid UTF-8 bytes replaced by '?'. */
json_t *gw_json_str(const char *s);

/* gw_json_num: a JSON real, 0 for NaN/inf. */
json_t *gw_json_num(double v);

/* gw_json_f32: a JSON real for a float score, rounded to 6 significant digits so 0.98f
 * prints as 0.98, not 0.9799999595 (0 for NaN/inf). */
json_t *gw_json_f32(float v);

/* gw_json_ms: a duration in ms rounded to µs (0 for NaN/inf or negative). */
json_t *gw_json_ms(double ms);

/* gw_render_sources: [{"source","score","rank"[,"because_item"]}] */
json_t *gw_render_sources(Rs__SourceScore *const *s, size_t n);

/* The context of a list's reasons (common/rs_reason.h): a customer's list (hist: their history,
 * possibly empty) or a list for everyone (hist NULL; anchor: the item a similar or
 * bought-together list is about, else 0), which never words anything as personal. */
typedef struct gw_reasons {
	const rs_reason_hist *r_hist;
	int64_t r_anchor;
	/* candidates whose titles may name a history item in a reason (may be NULL: such a reason
	 * is worded without the title) */
	const Rs__CandidatesResponse *r_titles;
} gw_reasons;

/* gw_render_ranked: one response item from the ranker, appended to w as it came (ranking
 * fills title, category, price and the candidate's sources: proto/ranking.proto). */
void gw_render_ranked(gw_jw *w, const Rs__RankedItem *it);

/* gw_render_candidate: one response item from a candidate (served without the ranker: the
 * fallbacks, similar, bought-together, popular), appended to w, with gw_candidate_reason. */
void gw_render_candidate(gw_jw *w, const Rs__Candidate *c, const gw_reasons *rc);

/* gw_candidate_reason: the reason of a candidate served without the ranker into buf (n bytes):
 * the true reason (rs_reason.h) whose source ranks it best; raw scores of different sources are
 * never compared. Returns buf. */
const char *gw_candidate_reason(const Rs__Candidate *c, const gw_reasons *rc, char *buf, size_t n);

/* Explain details for the UI inspector. */
json_t *gw_render_explain_feature(const Rs__UserFeaturesResponse *f);
json_t *gw_render_explain_candidates(const Rs__CandidatesResponse *c);

/* gw_render_explain_source_stats: [{"source","count","top","low"}] (c may be NULL: []). */
json_t *gw_render_explain_source_stats(const Rs__CandidatesResponse *c);

/* gw_render_explain_filtered: [{"reason","count","items"}] from CandidatesResponse.filtered
 * (c may be NULL: []). */
json_t *gw_render_explain_filtered(const Rs__CandidatesResponse *c);

/* gw_render_explain_ranking: {"ranker","base_score","contributions","items": [{"item_id",
 * "score","features": [{"name","label","value","contribution"}]}]} for every item ranking
 * answered, best first. */
json_t *gw_render_explain_ranking(const Rs__RankResponse *r);

/* gw_event_type_name: "view", "click", ... ("unknown" otherwise). */
const char *gw_event_type_name(int type);

#endif
