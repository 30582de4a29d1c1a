/* rs_event: see rs_event.h. */
#include "rs_event.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rs_err.h"

_Static_assert(RS__EVENT_TYPE__EVENT_VIEW == 1 && RS__EVENT_TYPE__EVENT_NOT_INTERESTED == 6 &&
                       RS_EVENT_NTYPES == RS__EVENT_TYPE__EVENT_NOT_INTERESTED + 1,
               "rs_event's tables follow rs.EventType's numbers");

static const char *const ev_names[RS_EVENT_NTYPES] = {
        "", "view", "click", "add_to_cart", "purchase", "rating", "not_interested"};

const char *
rs_event_type_name(int type)
{
	return type >= 1 && type < RS_EVENT_NTYPES ? ev_names[type] : "";
}

int
rs_event_type_parse(const char *s)
{
	for (int t = 1; t < RS_EVENT_NTYPES; t++)
		if (strcasecmp(s, ev_names[t]) == 0)
			return t;
	if (strcasecmp(s, "cart") == 0 || strcasecmp(s, "add-to-cart") == 0 ||
	    strcasecmp(s, "addtocart") == 0)
		return RS__EVENT_TYPE__EVENT_ADD_TO_CART;
	if (strcasecmp(s, "not-interested") == 0)
		return RS__EVENT_TYPE__EVENT_NOT_INTERESTED;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && v >= 1 && v < RS_EVENT_NTYPES &&
	    v == floor(v))
		return (int) v;
	return -1;
}

/* The default weights by rs.EventType number (rs_event_weights_defaults). */
static const double event_default_w[RS_EVENT_NTYPES] = {
        [RS__EVENT_TYPE__EVENT_VIEW] = 1,        [RS__EVENT_TYPE__EVENT_CLICK] = 2,
        [RS__EVENT_TYPE__EVENT_ADD_TO_CART] = 4, [RS__EVENT_TYPE__EVENT_PURCHASE] = 8,
        [RS__EVENT_TYPE__EVENT_RATING] = 2,      [RS__EVENT_TYPE__EVENT_NOT_INTERESTED] = 8,
};

void
rs_event_weights_defaults(rs_event_weights *w)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->w, event_default_w, sizeof(w->w));
	w->rating_low = 3;
}

float
rs_event_seed_weight(int type)
{
	if (type != RS__EVENT_TYPE__EVENT_VIEW && type != RS__EVENT_TYPE__EVENT_CLICK &&
	    type != RS__EVENT_TYPE__EVENT_ADD_TO_CART && type != RS__EVENT_TYPE__EVENT_PURCHASE)
		return 0.0f;
	return (float) event_default_w[type];
}

/* a whole number text in [0, 1e6] */
static int
weight_parse(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

int
rs_event_weights_parse(const char *spec, rs_event_weights *w, char *err, size_t errn)
{
	char *copy = strdup(spec != NULL ? spec : ""), *save = NULL, *tok;
	int rv = 0;

	if (copy == NULL)
		return RS_ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		double v;
		int t;

		while (*tok == ' ')
			tok++;
		if (eq == NULL || weight_parse(eq + 1, &v) != 0) {
			snprintf(err, errn,
			         "--weights: '%s' is not name=number (a number in [0, 1e6])", tok);
			rv = RS_EINVAL;
			break;
		}
		*eq = '\0';
		if (strcmp(tok, "rating_low") == 0) {
			w->rating_low = v;
			continue;
		}
		if ((t = rs_event_type_parse(tok)) < 0 || isdigit((unsigned char) tok[0])) {
			snprintf(err, errn,
			         "--weights: unknown event type '%s' (known: view, click, "
			         "add_to_cart, "
			         "purchase, rating, not_interested, rating_low)",
			         tok);
			rv = RS_EINVAL;
			break;
		}
		w->w[t] = v;
	}
	free(copy);
	return rv;
}

void
rs_event_weights_format(const rs_event_weights *w, char *buf, size_t n)
{
	snprintf(buf, n,
	         "view=%g,click=%g,add_to_cart=%g,purchase=%g,rating=%g,not_interested=%g,"
	         "rating_low=%g",
	         w->w[1], w->w[2], w->w[3], w->w[4], w->w[5], w->w[6], w->rating_low);
}

double
rs_event_amount(const rs_event_weights *w, int type, double value, int *override)
{
	*override = 0;
	switch (type) {
	case RS__EVENT_TYPE__EVENT_VIEW:
	case RS__EVENT_TYPE__EVENT_CLICK:
		return w->w[type];
	case RS__EVENT_TYPE__EVENT_ADD_TO_CART:
	case RS__EVENT_TYPE__EVENT_PURCHASE:
		*override = 1;
		return w->w[type];
	case RS__EVENT_TYPE__EVENT_RATING:
		if (isnan(value))
			return w->w[type];
		if (value < w->rating_low)
			return -w->w[type] * (w->rating_low - value);
		*override = 1;
		return w->w[type] * (value - w->rating_low + 1);
	case RS__EVENT_TYPE__EVENT_NOT_INTERESTED:
		return -w->w[type];
	default:
		return 0;
	}
}
