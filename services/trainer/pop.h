/* pop: popularity baseline. score(i) = number of train users of i, or with half_life > 0
 * the time-decayed count sum_u 2^(-(t_max - t_ui) / half_life) (t in timestamp units).
 * Weighted data (events.h): each pair counts with its weight, and each explicit negative
 * subtracts its strength (decayed the same way). */
#ifndef TR_POP_H
#define TR_POP_H

#include "dataset.h"

/* tr_pop_fit: n_items scores; caller frees. */
float *tr_pop_fit(const tr_dataset *ds, double half_life);

#endif
