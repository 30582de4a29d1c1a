#include "labels.h"

#include <stdio.h>
#include <string.h>

typedef struct label {
	const char *name;
	const char *label;
} label;

/* The one table: what a feature says about the candidate, in the customer's words. */
static const label labels[] = {
        /* linear scorer (featurize.h) */
        {"src_covisit", "co-visited with your recent items"},
        {"src_bought_together", "often bought together with your items"},
        {"src_category", "popular in a category you browse"},
        {"src_popular", "popular with everyone right now"},
        {"first_stage", "overall retrieval score"},
        {"category_affinity", "in the categories you like"},
        {"recency", "how recently you looked at a related item"},
        {"seen_count", "how often you already viewed or clicked it"},
        {"in_cart", "already in your cart"},
        /* learned ranker (rs_rankfeat.h): item, user and sequence columns */
        {"item_log_pop", "how popular the item is overall"},
        {"item_log_recent_pop", "how popular the item is lately"},
        {"item_age_last", "time since anyone last interacted with the item"},
        {"item_age_first", "how long the item has been around"},
        {"user_log_activity", "how active you are"},
        {"user_age_last", "time since your last activity"},
        {"seq_sim_last", "similar to the last item you interacted with"},
        {"seq_sim_sum", "similar to your last few items"},
        {"seq_trans_last", "often the next pick after your last item"},
        {"seq_trans_sum", "often the next pick after your last few items"},
};

/* Per-source columns: the source in words, then what the column measures. */
static const label source_words[] = {
        {"als", "matches your taste profile"},
        {"itemknn", "similar to items you interacted with"},
        {"pop", "popular overall"},
        {"ease", "predicted from your whole history"},
};

static const label suffix_words[] = {
        {"_norm", "score scaled within your list"},
        {"_ratio", "score relative to the best one"},
        {"_rank", "position in that list"},
};

const char *const rank_label_sources[] = {"als", "itemknn", "pop", "ease", NULL};

const char *
rank_feature_label(const char *name, char *buf, size_t n)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].name, name) == 0)
			return labels[i].label;
	for (size_t s = 0; s < sizeof(suffix_words) / sizeof(suffix_words[0]); s++) {
		size_t sl = strlen(suffix_words[s].name);
		if (len <= sl || strcmp(name + len - sl, suffix_words[s].name) != 0)
			continue;
		for (size_t w = 0; w < sizeof(source_words) / sizeof(source_words[0]); w++)
			if (strlen(source_words[w].name) == len - sl &&
			    strncmp(name, source_words[w].name, len - sl) == 0) {
				snprintf(buf, n, "%s: %s", source_words[w].label,
				         suffix_words[s].label);
				return buf;
			}
	}
	return NULL;
}
