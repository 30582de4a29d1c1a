/* rs_event: the names and numbers of rs.EventType, the weights spec and the signed amount of
 * one event, worked out by hand from the rules in rs_event.h. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "rs_err.h"
#include "rs_event.h"

Test(event, names_follow_the_proto)
{
	cr_assert_str_eq(rs_event_type_name(RS__EVENT_TYPE__EVENT_VIEW), "view");
	cr_assert_str_eq(rs_event_type_name(RS__EVENT_TYPE__EVENT_NOT_INTERESTED),
	                 "not_interested");
	cr_assert_str_eq(rs_event_type_name(0), "");
	cr_assert_str_eq(rs_event_type_name(7), "");
	for (int t = 1; t < RS_EVENT_NTYPES; t++)
		cr_assert_eq(rs_event_type_parse(rs_event_type_name(t)), t);
	cr_assert_eq(rs_event_type_parse("Purchase"), 4);
	cr_assert_eq(rs_event_type_parse("add-to-cart"), 3);
	cr_assert_eq(rs_event_type_parse("cart"), 3);
	cr_assert_eq(rs_event_type_parse("not-interested"), 6);
	cr_assert_eq(rs_event_type_parse("5"), 5);
	cr_assert_eq(rs_event_type_parse("0"), -1);
	cr_assert_eq(rs_event_type_parse("2.5"), -1);
	cr_assert_eq(rs_event_type_parse(""), -1);
	cr_assert_eq(rs_event_type_parse("like"), -1);
}

Test(event, weights_spec_round_trip_and_errors)
{
	rs_event_weights w, back;
	char buf[192], err[256];

	rs_event_weights_defaults(&w);
	rs_event_weights_format(&w, buf, sizeof(buf));
	cr_assert_str_eq(buf, "view=1,click=2,add_to_cart=4,purchase=8,rating=2,not_interested=8,"
	                      "rating_low=3");
	cr_assert_eq(rs_event_weights_parse(" click=3, rating_low=2.5", &w, err, sizeof(err)), 0);
	cr_assert_eq(w.w[RS__EVENT_TYPE__EVENT_CLICK], 3);
	cr_assert_eq(w.rating_low, 2.5);
	rs_event_weights_format(&w, buf, sizeof(buf));
	rs_event_weights_defaults(&back);
	cr_assert_eq(rs_event_weights_parse(buf, &back, err, sizeof(err)), 0);
	cr_assert(memcmp(&w, &back, sizeof(w)) == 0);
	cr_assert_eq(rs_event_weights_parse("view=-1", &w, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "'view=-1'") != NULL, "%s", err);
	cr_assert_eq(rs_event_weights_parse("view=nan", &w, err, sizeof(err)), RS_EINVAL);
	cr_assert_eq(rs_event_weights_parse("view", &w, err, sizeof(err)), RS_EINVAL);
	cr_assert_eq(rs_event_weights_parse("4=2", &w, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "unknown event type '4'") != NULL, "%s", err);
	cr_assert_eq(rs_event_weights_parse("", &w, err, sizeof(err)), 0);
}

Test(event, amounts_by_hand)
{
	rs_event_weights w;
	int ov;

	rs_event_weights_defaults(&w);
	cr_assert_eq(rs_event_amount(&w, 1, NAN, &ov), 1);
	cr_assert_eq(ov, 0);
	cr_assert_eq(rs_event_amount(&w, 2, NAN, &ov), 2);
	cr_assert_eq(rs_event_amount(&w, 3, NAN, &ov), 4);
	cr_assert_eq(ov, 1);
	cr_assert_eq(rs_event_amount(&w, 4, NAN, &ov), 8);
	cr_assert_eq(ov, 1);
	/* ratings around rating_low 3 at 2 per star: 5 -> 2*3, 3 -> 2*1, 2 -> -2*1, 1 -> -2*2 */
	cr_assert_eq(rs_event_amount(&w, 5, 5, &ov), 6);
	cr_assert_eq(ov, 1);
	cr_assert_eq(rs_event_amount(&w, 5, 3, &ov), 2);
	cr_assert_eq(rs_event_amount(&w, 5, 2, &ov), -2);
	cr_assert_eq(ov, 0);
	cr_assert_eq(rs_event_amount(&w, 5, 1, &ov), -4);
	cr_assert_eq(rs_event_amount(&w, 5, NAN, &ov), 2); /* a rating without a value */
	cr_assert_eq(rs_event_amount(&w, 6, NAN, &ov), -8);
	cr_assert_eq(ov, 0);
	cr_assert_eq(rs_event_amount(&w, 0, NAN, &ov), 0);
	cr_assert_eq(rs_event_amount(&w, 9, NAN, &ov), 0);
}

Test(event, seed_weights_are_the_default_weights_of_positive_types)
{
	rs_event_weights w;

	rs_event_weights_defaults(&w);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_VIEW), 1.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_CLICK), 2.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_ADD_TO_CART), 4.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_PURCHASE), 8.0f, 0);
	for (int t = RS__EVENT_TYPE__EVENT_VIEW; t <= RS__EVENT_TYPE__EVENT_PURCHASE; t++)
		cr_assert_float_eq(rs_event_seed_weight(t), (float) w.w[t], 0, "type %d", t);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_RATING), 0.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(RS__EVENT_TYPE__EVENT_NOT_INTERESTED), 0.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(0), 0.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(99), 0.0f, 0);
	cr_assert_float_eq(rs_event_seed_weight(-1), 0.0f, 0);
	/* the defaults themselves, as rs_event.h states them */
	cr_assert_float_eq(w.w[RS__EVENT_TYPE__EVENT_RATING], 2.0, 0);
	cr_assert_float_eq(w.w[RS__EVENT_TYPE__EVENT_NOT_INTERESTED], 8.0, 0);
	cr_assert_float_eq(w.rating_low, 3.0, 0);
}
