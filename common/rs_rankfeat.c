/* rs_rankfeat: see rs_rankfeat.h. */
#include "rs_rankfeat.h"

#include <math.h>
#include <stdio.h>

static const char *const rankfeat_suffix[3] = {"norm", "ratio", "rank"};
static const char *const rankfeat_fixed[RS_RANKFEAT_ITEM + RS_RANKFEAT_USER + RS_RANKFEAT_SEQ] = {
        "item_log_pop",      "item_log_recent_pop", "item_age_last", "item_age_first",
        "user_log_activity", "user_age_last",       "seq_sim_last",  "seq_sim_sum",
        "seq_trans_last",    "seq_trans_sum",
};

int
rs_rankfeat_nfeat(int n_src)
{
	return 3 * n_src + RS_RANKFEAT_ITEM + RS_RANKFEAT_USER + RS_RANKFEAT_SEQ;
}

void
rs_rankfeat_src_init(rs_rankfeat_src *s, float top, float low, int got)
{
	s->best = got > 0 && fabsf(top) > 1e-12f ? fabsf(top) : 1.0f;
	s->low = got > 0 ? low : 0.0f;
	s->top = got > 0 ? top : 0.0f;
}

void
rs_rankfeat_row(int n_src, const rs_rankfeat_src *src, const rs_rankfeat_norm *norm,
                const rs_rankfeat_user *user, const rs_rankfeat_cand *c, float *row)
{
	int q = 0, s, t;
	float sim1 = 0, simk = 0, tr1 = 0, trk = 0;

	for (s = 0; s < n_src; s++) {
		float v = c->score[s], hi = src[s].top, lo = src[s].low;
		row[q++] = hi - lo > 1e-12f ? (v - lo) / (hi - lo) : 0.0f;
		row[q++] = v / src[s].best;
		row[q++] = (float) c->rank[s];
	}
	for (t = 0; t < RS_RANKFEAT_ITEM; t++)
		row[q++] = c->item[t];
	row[q++] = (float) log(((double) user->n_items + 1) / (norm->mean_n + 1));
	row[q++] = user->has_last ? (float) ((norm->tmax - user->last_ts) / norm->span) : 1.0f;
	for (t = 0; t < c->nlast && t < RS_RANKFEAT_LAST; t++) {
		if (t == 0) {
			sim1 = c->sim[t];
			tr1 = c->trans[t];
		}
		simk += c->sim[t];
		trk += c->trans[t];
	}
	row[q++] = sim1;
	row[q++] = simk;
	row[q++] = tr1;
	row[q++] = trk;
	for (t = 0; t < q; t++)
		if (!isfinite(row[t]))
			row[t] = 0.0f;
}

int
rs_rankfeat_name(const char *const *src, int n_src, int f, char *buf, size_t n)
{
	if (f < 0 || f >= rs_rankfeat_nfeat(n_src))
		return -1;
	if (f < 3 * n_src)
		snprintf(buf, n, "%s_%s", src[f / 3], rankfeat_suffix[f % 3]);
	else
		snprintf(buf, n, "%s", rankfeat_fixed[f - 3 * n_src]);
	return 0;
}
