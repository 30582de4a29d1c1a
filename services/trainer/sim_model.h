/* sim_model: how a simulated customer of `rs-train simulate` reacts to a recommendation list,
 * decided by the generator's hidden taste model (dataio/world.h):
 *   - each visit has an intent, drawn as a generated session's (dio_world_intent: 75 % one of
 *     the customer's favourite leaves, else any leaf by popularity); generated sessions view
 *     only items of their intent leaf, a list also shows others: their click probability is
 *     multiplied by SIM_OFF_INTENT;
 *   - position bias: the item at 1-based position p is examined with sim_examine(p) =
 *     1 / log2(p + 1) (1, 0.63, 0.5, ... 0.29 at 10: the DCG discount);
 *   - an examined item with utility sc (dio_world_utility: taste . item, popularity, favourite
 *     brand, budget) is clicked with dio_world_p_click(sc) (times SIM_OFF_INTENT outside the
 *     intent leaf), a clicked item in stock is added to
 *     the cart with dio_world_p_cart(sc), and a cart item is bought with DIO_WORLD_P_BUY unless
 *     its price is above DIO_WORLD_BUY_MAX_BUDGET times the customer's budget: the funnel of
 *     the generated sessions;
 *   - the list's appeal q = 1 - prod_p (1 - sim_examine(p) p_click(sc_p)) (the chance of at
 *     least one click) decides the return: a customer who visited comes back the next day with
 *     sim_p_return(q) = SIM_RETURN_BASE + SIM_RETURN_GAIN q; one who did not, with
 *     SIM_P_REACTIVATE. So retention and GMV respond to how good the lists are. */
#ifndef TR_SIM_MODEL_H
#define TR_SIM_MODEL_H

#include "dio.h"
#include "world.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_RETURN_BASE  0.25
#define SIM_RETURN_GAIN  0.65
#define SIM_P_REACTIVATE 0.05
#define SIM_OFF_INTENT   0.25
#define SIM_NO_INTENT    (-1) /* sim_p_click without an intent: the factor is 1 */

/* What the customer did with the item at one position. */
typedef struct sim_action {
	int examined, clicked, carted, bought;
} sim_action;

double sim_examine(int pos);
/* The probability that customer u (0-based) clicks item i (0-based) shown at position pos
 * on a visit with intent leaf intent (SIM_NO_INTENT: none). */
double sim_p_click(const dio_world *w, long u, long i, int pos, long intent);
double sim_p_return(double appeal);

/* sim_decide: customer u's reaction, on a visit with intent leaf intent, to items[0..n)
 * (0-based item indexes, item ids - 1; an index outside the world is ignored: never clicked).
 * Draws from r in a fixed order (per position: examine, click, cart, buy), fills act[0..n) and
 * returns the list's appeal q. */
double sim_decide(const dio_world *w, long u, long intent, const long *items, size_t n, dio_rng *r,
                  sim_action *act);

/* sim_rng: the random stream of customer u on day d for a simulation seed: independent of
 * the order customers are served in. */
void sim_rng(dio_rng *r, uint64_t seed, long u, int day);

#endif
