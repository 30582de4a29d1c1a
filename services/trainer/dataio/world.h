/* world: the hidden taste model of `rs-train generate` (generate.c), rebuilt from the same
 * --seed, --users and --items. `rs-train generate` draws its catalog and customers with
 * dio_world_build and its sessions with dio_world_utility and the funnel probabilities below;
 * `rs-train simulate` rebuilds the same world to decide what simulated customers click, add to
 * the cart and buy when shown a list. Ids: item i (0-based) is item_id i + 1, customer u is
 * user_id u + 1. */
#ifndef DIO_WORLD_H
#define DIO_WORLD_H

#include "dio.h"

#include <stddef.h>
#include <stdint.h>

#define DIO_WORLD_K      16 /* latent dimensions */
#define DIO_WORLD_MAXFAV 3  /* favourite leaves per customer */

typedef struct dio_witem {
	uint32_t leaf, brand; /* brand: index into its top category's list */
	double price;
	double logpop; /* standardised log Zipf popularity (mean 0, sd 1) */
	int in_stock;
	float v[DIO_WORLD_K];
	char title[160];
} dio_witem;

typedef struct dio_wuser {
	uint32_t fav[DIO_WORLD_MAXFAV];
	double favw[DIO_WORLD_MAXFAV];
	int nfav;
	int fav_brand[2]; /* global brand index top*6+b, -1 none */
	double budget;
	int sessions; /* sessions over the generated history */
	float u[DIO_WORLD_K];
	char name[96];
} dio_wuser;

typedef struct dio_world {
	long nitems, nusers;
	dio_witem *items;
	dio_wuser *users;
	size_t nleaves;
	double *leaf_cum; /* leaf popularity, prefix sums (nleaves) */
} dio_world;

/* dio_world_build: the catalog and the customers of the shop generated with this rng (seeded
 * with --seed: dio_rng_seed(r, seed)), nusers customers and nitems items; sessions is
 * generate's --sessions. r is left where generate draws its sessions from. 0 or RS_ENOMEM. */
int dio_world_build(dio_world *w, dio_rng *r, long nusers, long nitems, double sessions);
void dio_world_free(dio_world *w);

/* Leaf path ("Top/Sub/Leaf") and whether its items are consumables. */
const char *dio_world_leaf_path(uint32_t leaf);
int dio_world_leaf_consumable(uint32_t leaf);
/* The global brand index (top * 6 + brand) and the brand's name. */
int dio_world_brand_index(const dio_witem *it);
const char *dio_world_brand_name(const dio_witem *it);

/* dio_world_utility: how much customer u (0-based) likes item i (0-based): 3 taste.item +
 * 0.7 popularity + 1 for a favourite brand - 1.5 max(0, log(price / budget)). */
double dio_world_utility(const dio_world *w, long u, long i);

/* dio_world_intent: the leaf a session of customer u is about (75 % one of its favourite
 * leaves, by their weights, else any leaf by the leaves' popularity): generate views only items
 * of that leaf in the session. Draws from r. */
uint32_t dio_world_intent(const dio_world *w, long u, dio_rng *r);

/* The funnel of a viewed item with utility sc: click with dio_world_p_click(sc), then add to the
 * cart with dio_world_p_cart(sc) (in stock only); a cart item is bought with DIO_WORLD_P_BUY
 * unless its price is above DIO_WORLD_BUY_MAX_BUDGET times the customer's budget. */
double dio_world_p_click(double sc);
double dio_world_p_cart(double sc);
#define DIO_WORLD_P_BUY          0.65
#define DIO_WORLD_BUY_MAX_BUDGET 2.5

#endif
