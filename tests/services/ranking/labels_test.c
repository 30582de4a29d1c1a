/* Every feature rs-ranking can show has a label in words (labels.c): the linear scorer's and
 * the learned ranker's columns for every source rs-train can publish. A missing label fails. */
#include <criterion/criterion.h>
#include <string.h>

#include "featurize.h"
#include "labels.h"
#include "rs_rankfeat.h"

static void
assert_label(const char *name)
{
	char buf[160];
	const char *l = rank_feature_label(name, buf, sizeof(buf));
	cr_assert_not_null(l, "feature %s has no label", name);
	cr_assert_gt(strlen(l), 8, "%s: label \"%s\"", name, l);
	cr_assert_str_neq(l, name);
	cr_assert_null(strchr(l, '_'), "%s: the label \"%s\" is not words", name, l);
}

Test(labels, every_linear_feature_has_one)
{
	for (int f = 0; f < RANK_NF; f++)
		assert_label(rank_feature_names[f]);
	char buf[160];
	cr_assert_str_eq(rank_feature_label("src_covisit", buf, sizeof(buf)),
	                 "co-visited with your recent items");
}

Test(labels, every_ranker_column_of_every_source_has_one)
{
	int ns = 0;
	char name[64], buf[160];
	while (rank_label_sources[ns] != NULL)
		ns++;
	cr_assert_leq(ns, RS_RANKFEAT_MAX_SRC);
	for (int f = 0; f < rs_rankfeat_nfeat(ns); f++) {
		cr_assert_eq(rs_rankfeat_name(rank_label_sources, ns, f, name, sizeof(name)), 0);
		assert_label(name);
	}
	const char *l = rank_feature_label("als_rank", buf, sizeof(buf));
	cr_assert_str_eq(l, "matches your taste profile: position in that list");
	cr_assert_null(rank_feature_label("nosuch_norm", buf, sizeof(buf)));
	cr_assert_null(rank_feature_label("als_", buf, sizeof(buf)));
	cr_assert_null(rank_feature_label("_rank", buf, sizeof(buf)));
}
