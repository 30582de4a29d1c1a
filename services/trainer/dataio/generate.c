/* rs-train generate: a synthetic marketplace with a hidden taste model.
 *
 * Catalog: leaf categories (path Top/Sub/Leaf) with nouns and a typical price, six brands per
 * top category, titles "<adjective> <brand> <noun> [<model>]", log-normal prices around the
 * leaf's typical price, ~92% in stock, and Zipf-like popularity over a random order (long tail).
 * Every item has a latent vector: its leaf's direction (which shares a component with its top
 * category) plus its brand's direction plus noise.
 * Users: 1-3 favourite leaves, 0-2 favourite brands, a taste vector built from those leaves,
 * a log-normal budget and activity level, a display name.
 * Sessions over --days ending at --end: an intent leaf (75% one of the favourites), items in it
 * sampled by softmax(3 * taste.item + 0.7 * standardised log popularity + brand bonus - over-budget
 * penalty), each viewed, maybe clicked, maybe added to the cart; cart items are bought at the end
 * of the session with a budget check. Consumables (grocery, beauty, pet, office) are re-bought
 * every 2-6 weeks; some purchases get a 1-5 rating, some poor matches get not_interested. Because
 * the utility is mostly personal (taste . item) and the intent leaves are personal, a recommender
 * that learns user tastes beats global popularity on held-out purchases/clicks. */
#include "dataio.h"
#include "dio.h"
#include "opts.h"
#include "world.h"
#include "rs_err.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEN_K      DIO_WORLD_K
#define GEN_MAXFAV DIO_WORLD_MAXFAV
#define GEN_BRANDS 6

typedef struct gen_leaf {
	const char *path;
	const char *nouns[3];
	double price;
	int consumable;
} gen_leaf;

static const gen_leaf GEN_LEAVES[] = {
        {"Electronics/Audio/Headphones", {"Headphones", "Earbuds", "Headset"}, 90, 0},
        {"Electronics/Audio/Speakers", {"Speaker", "Soundbar", "Party Speaker"}, 120, 0},
        {"Electronics/Computers/Laptops", {"Laptop", "Ultrabook", "Notebook PC"}, 900, 0},
        {"Electronics/Computers/Accessories", {"Mouse", "Keyboard", "USB-C Hub"}, 35, 0},
        {"Electronics/Phones/Smartphones", {"Smartphone", "Phone", "Phone Mini"}, 600, 0},
        {"Electronics/Phones/Accessories", {"Phone Case", "Charger", "Screen Protector"}, 18, 0},
        {"Electronics/Cameras/Action Cameras", {"Action Camera", "Gimbal", "Dash Cam"}, 220, 0},
        {"Home/Kitchen/Knives", {"Chef Knife", "Knife Set", "Paring Knife"}, 60, 0},
        {"Home/Kitchen/Cookware", {"Frying Pan", "Saucepan", "Dutch Oven"}, 70, 0},
        {"Home/Kitchen/Small Appliances", {"Espresso Machine", "Blender", "Toaster"}, 110, 0},
        {"Home/Furniture/Chairs", {"Office Chair", "Armchair", "Bar Stool"}, 180, 0},
        {"Home/Decor/Lighting", {"Desk Lamp", "Floor Lamp", "LED Strip"}, 45, 0},
        {"Home/Bedding/Pillows", {"Pillow", "Duvet", "Sheet Set"}, 40, 0},
        {"Sports/Outdoor/Tents", {"Tent", "Sleeping Bag", "Camping Mat"}, 150, 0},
        {"Sports/Fitness/Yoga", {"Yoga Mat", "Resistance Bands", "Foam Roller"}, 30, 0},
        {"Sports/Cycling/Accessories", {"Bike Light", "Helmet", "Bike Lock"}, 40, 0},
        {"Sports/Running/Shoes", {"Running Shoes", "Trail Shoes", "Racing Flats"}, 110, 0},
        {"Fashion/Men/Shirts", {"Shirt", "Polo", "T-Shirt"}, 30, 0},
        {"Fashion/Women/Dresses", {"Dress", "Skirt", "Blouse"}, 55, 0},
        {"Fashion/Shoes/Sneakers", {"Sneakers", "Loafers", "Boots"}, 85, 0},
        {"Fashion/Accessories/Bags", {"Backpack", "Tote Bag", "Wallet"}, 50, 0},
        {"Beauty/Skincare/Moisturizers", {"Moisturizer", "Face Serum", "Sunscreen"}, 22, 1},
        {"Beauty/Hair/Shampoo", {"Shampoo", "Conditioner", "Hair Oil"}, 12, 1},
        {"Grocery/Pantry/Coffee", {"Coffee Beans", "Ground Coffee", "Espresso Pods"}, 14, 1},
        {"Grocery/Pantry/Tea", {"Green Tea", "Black Tea", "Herbal Tea"}, 8, 1},
        {"Grocery/Snacks/Bars", {"Dark Chocolate", "Protein Bar", "Trail Mix"}, 6, 1},
        {"Pet/Dogs/Food", {"Dog Food", "Dog Treats", "Chew Toy"}, 35, 1},
        {"Pet/Cats/Supplies", {"Cat Litter", "Cat Food", "Cat Treats"}, 20, 1},
        {"Toys/Building/Sets", {"Building Set", "Construction Kit", "Marble Run"}, 45, 0},
        {"Toys/Games/Board Games", {"Board Game", "Puzzle", "Card Game"}, 30, 0},
        {"Books/Fiction/Thrillers", {"Thriller", "Mystery Novel", "Crime Story"}, 15, 0},
        {"Books/Nonfiction/Cooking", {"Cookbook", "Baking Guide", "Grill Book"}, 25, 0},
        {"Garden/Tools/Watering", {"Garden Hose", "Watering Can", "Sprinkler"}, 28, 0},
        {"Office/Supplies/Paper", {"Notebook", "Planner", "Gel Pens"}, 10, 1},
};
#define GEN_NLEAVES (sizeof(GEN_LEAVES) / sizeof(GEN_LEAVES[0]))

static const struct {
	const char *top;
	const char *brands[GEN_BRANDS];
} GEN_BRANDS_BY_TOP[] = {
        {"Electronics", {"Sonora", "Voltix", "Pixelon", "Auralis", "Nexa", "Kestrel"}},
        {"Home", {"Hearthly", "Oakmere", "Culina", "Lumio", "Nestwell", "Brightfold"}},
        {"Sports", {"Trailforge", "Apexa", "Stridex", "Summitra", "Velora", "Pulsefit"}},
        {"Fashion", {"Marlowe", "Ashby", "Northline", "Velvetta", "Urbanic", "Loomis"}},
        {"Beauty", {"Glowen", "Purelle", "Aurea", "Botanica", "Silkby", "Dewly"}},
        {"Grocery",
         {"Beanworks", "Harvesta", "Morning Ritual", "Cocoa Bay", "Greenleaf", "Nutrio"}},
        {"Pet", {"Pawsome", "Whiskerly", "Barkley", "FurFresh", "Tailwind", "Purrfect"}},
        {"Toys", {"Brickly", "Playnest", "Funforge", "Tinkertot", "Gameday", "Wonderbox"}},
        {"Books", {"Penbrook", "Inkwell", "Larkspur", "Folio House", "Quillstone", "Redfern"}},
        {"Garden", {"Greenthumb", "Verdant", "Bloomfield", "Rootwise", "Sprigg", "Terrafirm"}},
        {"Office", {"Notely", "Paperworks", "Deskmate", "Inkline", "Scribe", "Officio"}},
};
#define GEN_NTOPS (sizeof(GEN_BRANDS_BY_TOP) / sizeof(GEN_BRANDS_BY_TOP[0]))

static const char *const GEN_ADJ[] = {
        "Compact", "Classic", "Premium",     "Ultra",    "Essential", "Pro",    "Eco",
        "Smart",   "Deluxe",  "Lightweight", "Everyday", "Signature", "Travel", "Heavy-Duty",
        "Slim",    "Vintage", "Modern",      "Natural",  "Advanced",  "Soft"};
static const char *const GEN_MODEL[] = {"",     "",    "",  "X2", "300", "Mini",
                                        "Plus", "Max", "S", "II", "Air", "Lite"};
static const char *const GEN_FIRST[] = {
        "Alice", "Ben",    "Chloe", "David",  "Emma",   "Felix", "Grace", "Hugo", "Isla",   "Jonas",
        "Kira",  "Leo",    "Maya",  "Noah",   "Olivia", "Paul",  "Quinn", "Rosa", "Sam",    "Tara",
        "Uma",   "Victor", "Wendy", "Xavier", "Yara",   "Zoe",   "Amir",  "Bea",  "Carlos", "Dana",
        "Elif",  "Finn",   "Gita",  "Hana",   "Ivan",   "Jade",  "Kenji", "Lina", "Mateo",  "Nora"};
static const char *const GEN_LAST[] = {
        "Anders",  "Brook",    "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
        "Jensen",  "Kowalski", "Lopez", "Meyer",  "Novak", "Okafor",  "Petrov", "Quinn",  "Rossi",
        "Schmidt", "Tanaka",   "Ueda",  "Varga",  "Weber", "Yilmaz",  "Zhang"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef dio_witem gen_item;
typedef dio_wuser gen_user;

typedef struct gen_ev {
	int64_t ts_ms;
	int64_t item;
	int type;
	int has_value;
	double value;
	double price;
} gen_ev;

typedef struct gen_evs {
	gen_ev *e;
	size_t n, cap;
} gen_evs;

static int
gen_push(gen_evs *l, int64_t ts, int64_t item, int type, double price, int has_value, double value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		gen_ev *e = realloc(l->e, cap * sizeof(*e));
		if (e == NULL)
			return RS_ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n++] = (gen_ev){ts, item, type, has_value, value, price};
	return 0;
}

static int
gen_ev_cmp(const void *a, const void *b)
{
	const gen_ev *x = a, *y = b;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return x->type - y->type;
}

static uint32_t
gen_top_of(uint32_t leaf)
{
	const char *p = GEN_LEAVES[leaf].path;
	size_t n = strcspn(p, "/");
	for (uint32_t t = 0; t < GEN_NTOPS; t++)
		if (strlen(GEN_BRANDS_BY_TOP[t].top) == n &&
		    strncmp(GEN_BRANDS_BY_TOP[t].top, p, n) == 0)
			return t;
	return 0;
}

static void
gen_randvec(dio_rng *r, float *v, double scale)
{
	for (int k = 0; k < GEN_K; k++)
		v[k] = (float) (dio_rng_normal(r) * scale);
}

static void
gen_normalize(float *v)
{
	double s = 0;
	for (int k = 0; k < GEN_K; k++)
		s += (double) v[k] * v[k];
	s = sqrt(s) + 1e-9;
	for (int k = 0; k < GEN_K; k++)
		v[k] = (float) (v[k] / s);
}

static double
gen_dot(const float *a, const float *b)
{
	double s = 0;
	for (int k = 0; k < GEN_K; k++)
		s += (double) a[k] * b[k];
	return s;
}

static double
gen_sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static const char gen_usage_text[] =
        "usage: rs-train generate [--dsn DSN] [--out DIR] [options]\n"
        "A synthetic marketplace (catalog, customers, sessions) with a hidden taste model,\n"
        "deterministic for a given --seed and --end. Writes PostgreSQL (COPY; re-running\n"
        "stores nothing twice) and/or DIR/items.csv, users.csv, events.csv.\n";

typedef struct gen_opts {
	const char *dsn, *out;
	long users, items, days;
	double sessions;
	uint64_t seed;
	int64_t end_s;
	int truncate;
} gen_opts;

/* ---- the hidden world (world.h) ---- */

const char *
dio_world_leaf_path(uint32_t leaf)
{
	return leaf < GEN_NLEAVES ? GEN_LEAVES[leaf].path : "";
}

int
dio_world_leaf_consumable(uint32_t leaf)
{
	return leaf < GEN_NLEAVES && GEN_LEAVES[leaf].consumable;
}

int
dio_world_brand_index(const dio_witem *it)
{
	return (int) (gen_top_of(it->leaf) * GEN_BRANDS + it->brand);
}

const char *
dio_world_brand_name(const dio_witem *it)
{
	return GEN_BRANDS_BY_TOP[gen_top_of(it->leaf)].brands[it->brand];
}

double
dio_world_utility(const dio_world *w, long u, long i)
{
	const dio_wuser *us = &w->users[u];
	const dio_witem *it = &w->items[i];
	int gb = dio_world_brand_index(it);
	return 3.0 * gen_dot(us->u, it->v) + 0.7 * it->logpop +
	       (gb == us->fav_brand[0] || gb == us->fav_brand[1] ? 1.0 : 0.0) -
	       1.5 * fmax(0.0, log(it->price / us->budget));
}

uint32_t
dio_world_intent(const dio_world *w, long u, dio_rng *r)
{
	const gen_user *us = &w->users[u];
	double favcum[GEN_MAXFAV], a = 0;
	for (int f = 0; f < us->nfav; f++)
		favcum[f] = (a += us->favw[f]);
	return dio_rng_unif(r) < 0.75 ? us->fav[dio_rng_pick_cum(r, favcum, (size_t) us->nfav)]
	                              : (uint32_t) dio_rng_pick_cum(r, w->leaf_cum, GEN_NLEAVES);
}

double
dio_world_p_click(double sc)
{
	return 0.55 * gen_sigmoid(sc - 1.0);
}

double
dio_world_p_cart(double sc)
{
	return 0.6 * gen_sigmoid(sc - 1.5);
}

void
dio_world_free(dio_world *w)
{
	free(w->items);
	free(w->users);
	free(w->leaf_cum);
	memset(w, 0, sizeof(*w));
}

/* The latent directions the world is built from. */
typedef struct gen_latent {
	float top[GEN_NTOPS][GEN_K];
	float leaf[GEN_NLEAVES][GEN_K]; /* its top's direction plus its own */
	float brand[GEN_NTOPS * GEN_BRANDS][GEN_K];
} gen_latent;

/* Tops, leaves (sharing their top's direction), brands; and the leaves' popularity into
 * leaf_cum (cumulative). */
static void
gen_latent_draw(dio_rng *r, gen_latent *z, double *leaf_cum)
{
	double acc = 0;

	for (size_t t = 0; t < GEN_NTOPS; t++) {
		gen_randvec(r, z->top[t], 1.0);
		gen_normalize(z->top[t]);
	}
	for (size_t l = 0; l < GEN_NLEAVES; l++) {
		uint32_t t = gen_top_of((uint32_t) l);
		gen_randvec(r, z->leaf[l], 1.0);
		gen_normalize(z->leaf[l]);
		for (int k = 0; k < GEN_K; k++)
			z->leaf[l][k] = 0.55f * z->top[t][k] + 0.85f * z->leaf[l][k];
		gen_normalize(z->leaf[l]);
		acc += exp(dio_rng_normal(r) * 0.6); /* leaf popularity */
		leaf_cum[l] = acc;
	}
	for (size_t b = 0; b < GEN_NTOPS * GEN_BRANDS; b++) {
		gen_randvec(r, z->brand[b], 1.0);
		gen_normalize(z->brand[b]);
	}
}

/* Popularity: Zipf(1) log-popularity over a random permutation of the items, standardised to
 * mean 0 / sd 1 so it weighs like the taste term. perm (nitems) is scratch. */
static void
gen_popularity(dio_rng *r, gen_item *items, long nitems, uint32_t *perm)
{
	double pm = 0, pv = 0;

	for (long i = 0; i < nitems; i++)
		perm[i] = (uint32_t) i;
	for (long i = nitems - 1; i > 0; i--) {
		uint32_t j = dio_rng_below(r, (uint32_t) i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (long rank = 0; rank < nitems; rank++) {
		double lp = -log((double) rank + 1.0);
		items[perm[rank]].logpop = lp;
		pm += lp;
		pv += lp * lp;
	}
	pm /= (double) nitems;
	pv = sqrt(fmax(pv / (double) nitems - pm * pm, 1e-9));
	for (long i = 0; i < nitems; i++)
		items[i].logpop = (items[i].logpop - pm) / pv;
}

/* One catalog item: leaf, brand, price, latent vector, title, stock. */
static void
gen_item_draw(dio_rng *r, const gen_latent *z, const double *leaf_cum, gen_item *it)
{
	it->leaf = (uint32_t) dio_rng_pick_cum(r, leaf_cum, GEN_NLEAVES);
	uint32_t top = gen_top_of(it->leaf);
	it->brand = dio_rng_below(r, GEN_BRANDS);
	const gen_leaf *lf = &GEN_LEAVES[it->leaf];
	uint32_t noun = dio_rng_below(r, 3);
	it->price = floor(exp(log(lf->price) + 0.45 * dio_rng_normal(r)) * (noun + 2) / 3.0) + 0.99;
	float noise[GEN_K];
	gen_randvec(r, noise, 1.0);
	gen_normalize(noise);
	for (int k = 0; k < GEN_K; k++)
		it->v[k] = z->leaf[it->leaf][k] +
		           0.35f * z->brand[top * GEN_BRANDS + it->brand][k] + 0.45f * noise[k];
	gen_normalize(it->v);
	const char *model = GEN_MODEL[dio_rng_below(r, NELEM(GEN_MODEL))];
	snprintf(it->title, sizeof(it->title), "%s %s %s%s%s",
	         GEN_ADJ[dio_rng_below(r, NELEM(GEN_ADJ))],
	         GEN_BRANDS_BY_TOP[top].brands[it->brand], lf->nouns[noun], model[0] ? " " : "",
	         model);
	it->in_stock = dio_rng_unif(r) < 0.92;
}

/* One customer: favourite leaves, taste vector, favourite brands, budget, activity, name. */
static void
gen_user_draw(dio_rng *r, const gen_latent *z, const double *leaf_cum, double sessions,
              gen_user *us)
{
	us->nfav = 1 + (int) dio_rng_below(r, GEN_MAXFAV);
	memset(us->u, 0, sizeof(us->u));
	for (int f = 0; f < us->nfav; f++) {
		us->fav[f] = (uint32_t) dio_rng_pick_cum(r, leaf_cum, GEN_NLEAVES);
		us->favw[f] = f == 0 ? 1.0 : 0.3 + 0.5 * dio_rng_unif(r);
		for (int k = 0; k < GEN_K; k++)
			us->u[k] += (float) us->favw[f] * z->leaf[us->fav[f]][k];
	}
	float noise[GEN_K];
	gen_randvec(r, noise, 0.25);
	for (int k = 0; k < GEN_K; k++)
		us->u[k] += noise[k];
	gen_normalize(us->u);
	for (int b = 0; b < 2; b++)
		us->fav_brand[b] = dio_rng_unif(r) < 0.6
		                           ? (int) (gen_top_of(us->fav[0]) * GEN_BRANDS +
		                                    dio_rng_below(r, GEN_BRANDS))
		                           : -1;
	us->budget = exp(log(60.0) + 0.9 * dio_rng_normal(r));
	double act = exp(0.8 * dio_rng_normal(r) - 0.32); /* mean ~1 */
	us->sessions = 1 + (int) (sessions * act * dio_rng_unif(r) * 2.0);
	snprintf(us->name, sizeof(us->name), "%s %s", GEN_FIRST[dio_rng_below(r, NELEM(GEN_FIRST))],
	         GEN_LAST[dio_rng_below(r, NELEM(GEN_LAST))]);
}

int
dio_world_build(dio_world *w, dio_rng *r, long nusers, long nitems, double sessions)
{
	gen_latent z;

	memset(w, 0, sizeof(*w));
	w->nitems = nitems;
	w->nusers = nusers;
	w->nleaves = GEN_NLEAVES;
	w->items = calloc((size_t) nitems, sizeof(*w->items));
	w->users = calloc((size_t) nusers, sizeof(*w->users));
	w->leaf_cum = calloc(GEN_NLEAVES, sizeof(*w->leaf_cum));
	uint32_t *perm = malloc((size_t) nitems * sizeof(*perm));
	if (w->items == NULL || w->users == NULL || w->leaf_cum == NULL || perm == NULL) {
		free(perm);
		dio_world_free(w);
		return RS_ENOMEM;
	}
	gen_latent_draw(r, &z, w->leaf_cum);
	gen_popularity(r, w->items, nitems, perm);
	free(perm);
	for (long i = 0; i < nitems; i++)
		gen_item_draw(r, &z, w->leaf_cum, &w->items[i]);
	for (long u = 0; u < nusers; u++)
		gen_user_draw(r, &z, w->leaf_cum, sessions, &w->users[u]);
	return 0;
}

/* ---- generate ---- */

/* The state of one generate run: the world, the items of each leaf (an index into world.items)
 * and the scratch arrays of one session. gen_run owns all of it; gen_state_free frees it. */
typedef struct gen_state {
	const gen_opts *o;
	dio_rng r;
	dio_world world;
	uint32_t *leaf_items[GEN_NLEAVES];
	size_t leaf_n[GEN_NLEAVES];
	double *scores, *cum; /* the utilities of a leaf's items and their cumulative exp() */
	int64_t start_ms, span_ms, end_ms;
	gen_evs evs; /* one user's events, reused */
} gen_state;

/* What went into the cart in one session (at most 16 items). */
typedef struct gen_cart {
	int64_t id[16];
	double sc[16];
	int n;
} gen_cart;

static void
gen_state_free(gen_state *g)
{
	for (size_t l = 0; l < GEN_NLEAVES; l++)
		free(g->leaf_items[l]);
	dio_world_free(&g->world);
	free(g->scores);
	free(g->cum);
	free(g->evs.e);
}

/* Writes the catalog to the sink and counts the items of each leaf into g->leaf_n. */
static int
gen_write_items(gen_state *g, dio_sink *sink)
{
	char ext[32], attrs[96];
	int rv;

	for (long i = 0; i < g->o->items; i++) {
		const gen_item *it = &g->world.items[i];
		const gen_leaf *lf = &GEN_LEAVES[it->leaf];
		snprintf(ext, sizeof(ext), "sku-%06ld", i + 1);
		snprintf(attrs, sizeof(attrs), "{\"synthetic\": true, \"consumable\": %s}",
		         lf->consumable ? "true" : "false");
		dio_item di = {.id = i + 1,
		               .external_id = ext,
		               .title = it->title,
		               .category = lf->path,
		               .brand = dio_world_brand_name(it),
		               .price = it->price,
		               .in_stock = it->in_stock,
		               .attributes = attrs};
		if ((rv = dio_sink_item(sink, &di)) != 0)
			return rv;
		g->leaf_n[it->leaf]++;
	}
	return 0;
}

/* Fills g->leaf_items from the counts in g->leaf_n and sizes the session scratch arrays for the
 * largest leaf. */
static int
gen_index_leaves(gen_state *g)
{
	size_t maxleaf = 0;

	for (size_t l = 0; l < GEN_NLEAVES; l++) {
		g->leaf_items[l] = malloc((g->leaf_n[l] ? g->leaf_n[l] : 1) * sizeof(uint32_t));
		if (g->leaf_items[l] == NULL)
			return RS_ENOMEM;
		if (g->leaf_n[l] > maxleaf)
			maxleaf = g->leaf_n[l];
		g->leaf_n[l] = 0;
	}
	for (long i = 0; i < g->o->items; i++) {
		uint32_t leaf = g->world.items[i].leaf;
		g->leaf_items[leaf][g->leaf_n[leaf]++] = (uint32_t) i;
	}
	g->scores = malloc((maxleaf ? maxleaf : 1) * sizeof(*g->scores));
	g->cum = malloc((maxleaf ? maxleaf : 1) * sizeof(*g->cum));
	return g->scores == NULL || g->cum == NULL ? RS_ENOMEM : 0;
}

static int
gen_write_users(const gen_state *g, dio_sink *sink)
{
	char ext[32];
	int rv;

	for (long u = 0; u < g->o->users; u++) {
		snprintf(ext, sizeof(ext), "cust-%06ld", u + 1);
		dio_user du = {
		        .id = u + 1, .external_id = ext, .display_name = g->world.users[u].name};
		if ((rv = dio_sink_user(sink, &du)) != 0)
			return rv;
	}
	return 0;
}

/* The browsing part of a session in a leaf of n items (g->cum holds their sampling weights):
 * views, clicks, add-to-carts (recorded in *cart) and not_interested; *t advances. */
static int
gen_browse(gen_state *g, uint32_t leaf, size_t n, int64_t *t, gen_cart *cart)
{
	int views = 1 + (int) floor(-log(1.0 - dio_rng_unif(&g->r)) * 3.5);

	for (int v = 0; v < views; v++) {
		size_t j = dio_rng_pick_cum(&g->r, g->cum, n);
		int64_t id = (int64_t) g->leaf_items[leaf][j] + 1;
		const gen_item *it = &g->world.items[id - 1];
		double sc = g->scores[j];
		*t += 5000 + (int64_t) (dio_rng_unif(&g->r) * 85000);
		if (gen_push(&g->evs, *t, id, 1, it->price, 0, 0) != 0)
			return RS_ENOMEM;
		if (dio_rng_unif(&g->r) < dio_world_p_click(sc)) {
			*t += 2000 + (int64_t) (dio_rng_unif(&g->r) * 20000);
			if (gen_push(&g->evs, *t, id, 2, it->price, 0, 0) != 0)
				return RS_ENOMEM;
			/* out-of-stock items sold out during the last week */
			if (dio_rng_unif(&g->r) < dio_world_p_cart(sc) && cart->n < 16 &&
			    (it->in_stock || *t < g->end_ms - 7 * 86400000LL)) {
				*t += 5000 + (int64_t) (dio_rng_unif(&g->r) * 60000);
				if (gen_push(&g->evs, *t, id, 3, it->price, 1, 1) != 0)
					return RS_ENOMEM;
				cart->id[cart->n] = id;
				cart->sc[cart->n++] = sc;
			}
		} else if (sc < -0.5 && dio_rng_unif(&g->r) < 0.03) {
			if (gen_push(&g->evs, *t + 1000, id, 6, it->price, 0, 0) != 0)
				return RS_ENOMEM;
		}
	}
	return 0;
}

/* Consumables are bought again every 2-6 weeks after the purchase at t, while the habit lasts. */
static int
gen_rebuy(gen_state *g, int64_t id, const gen_item *it, int64_t t)
{
	int64_t rt = t;

	while (dio_rng_unif(&g->r) < 0.7) {
		rt += 86400000LL * (14 + dio_rng_below(&g->r, 29));
		if (rt >= g->end_ms || (!it->in_stock && rt >= g->end_ms - 7 * 86400000LL))
			break;
		if (gen_push(&g->evs, rt, id, 1, it->price, 0, 0) != 0 ||
		    gen_push(&g->evs, rt + 20000, id, 3, it->price, 1, 1) != 0 ||
		    gen_push(&g->evs, rt + 90000, id, 4, it->price, 1, 1) != 0)
			return RS_ENOMEM;
	}
	return 0;
}

/* The end of a session: purchases of the cart within the budget, some rated later, and the
 * re-buys of consumables. */
static int
gen_checkout(gen_state *g, const gen_user *us, const gen_cart *cart, int64_t t)
{
	for (int ci = 0; ci < cart->n; ci++) {
		const gen_item *it = &g->world.items[cart->id[ci] - 1];
		if (dio_rng_unif(&g->r) >= DIO_WORLD_P_BUY ||
		    it->price > us->budget * DIO_WORLD_BUY_MAX_BUDGET)
			continue;
		t += 30000 + (int64_t) (dio_rng_unif(&g->r) * 120000);
		if (gen_push(&g->evs, t, cart->id[ci], 4, it->price, 1, 1) != 0)
			return RS_ENOMEM;
		if (dio_rng_unif(&g->r) < 0.15) {
			double stars = round(3.2 + 1.1 * (cart->sc[ci] - 1.0) +
			                     0.7 * dio_rng_normal(&g->r));
			stars = fmin(5, fmax(1, stars));
			int64_t later = t + 86400000LL * (1 + dio_rng_below(&g->r, 10));
			if (later < g->end_ms &&
			    gen_push(&g->evs, later, cart->id[ci], 5, 0, 1, stars) != 0)
				return RS_ENOMEM;
		}
		if (GEN_LEAVES[it->leaf].consumable && gen_rebuy(g, cart->id[ci], it, t) != 0)
			return RS_ENOMEM;
	}
	return 0;
}

/* One session of user u: an intent leaf, browsing in it, checkout. Appends to g->evs. */
static int
gen_session(gen_state *g, long u)
{
	int64_t t = g->start_ms + (int64_t) (dio_rng_unif(&g->r) * (double) (g->span_ms - 3600000));
	uint32_t leaf = dio_world_intent(&g->world, u, &g->r);
	size_t n = g->leaf_n[leaf];
	gen_cart cart = {.n = 0};
	double c = 0;

	if (n == 0)
		return 0;
	for (size_t j = 0; j < n; j++) {
		double sc = dio_world_utility(&g->world, u, (long) g->leaf_items[leaf][j]);
		g->scores[j] = sc;
		c += exp(sc);
		g->cum[j] = c;
	}
	if (gen_browse(g, leaf, n, &t, &cart) != 0)
		return RS_ENOMEM;
	return gen_checkout(g, &g->world.users[u], &cart, t);
}

/* Writes g->evs (user u's events) in time order, without those after the end. */
static int
gen_write_events(gen_state *g, dio_sink *sink, long u)
{
	char eid[64];
	int rv;

	qsort(g->evs.e, g->evs.n, sizeof(*g->evs.e), gen_ev_cmp);
	for (size_t i = 0; i < g->evs.n; i++) {
		const gen_ev *e = &g->evs.e[i];
		if (e->ts_ms > g->end_ms)
			continue;
		snprintf(eid, sizeof(eid), "g%" PRIu64 "-u%ld-%zu", g->o->seed, u + 1, i);
		dio_event de = {.event_id = eid,
		                .user_id = u + 1,
		                .item_id = e->item,
		                .type = e->type,
		                .has_value = e->has_value,
		                .value = e->value,
		                .price = e->price,
		                .ts_ms = e->ts_ms};
		if ((rv = dio_sink_event(sink, &de)) != 0)
			return rv;
	}
	return 0;
}

/* Writes the catalog, the customers and each customer's sessions (in time order) to the sink.
 * A sink error is reported by dio_sink_close; memory errors here. */
static int
gen_run(const gen_opts *o, char *err, size_t errn)
{
	gen_state g = {.o = o};
	dio_sink *sink = NULL;
	dio_stats st;
	int rv;

	dio_rng_seed(&g.r, o->seed);
	g.end_ms = o->end_s * 1000;
	g.span_ms = (int64_t) o->days * 86400 * 1000;
	g.start_ms = g.end_ms - g.span_ms;
	if ((rv = dio_sink_open(&sink, o->dsn, o->out, o->truncate, err, errn)) != 0)
		goto out;
	if ((rv = dio_world_build(&g.world, &g.r, o->users, o->items, o->sessions)) != 0)
		goto nomem;
	if ((rv = gen_write_items(&g, sink)) != 0)
		goto sinkerr;
	if ((rv = gen_index_leaves(&g)) != 0)
		goto nomem;
	if ((rv = gen_write_users(&g, sink)) != 0)
		goto sinkerr;
	for (long u = 0; u < o->users; u++) {
		g.evs.n = 0;
		for (int s = 0; s < g.world.users[u].sessions; s++)
			if ((rv = gen_session(&g, u)) != 0)
				goto nomem;
		if ((rv = gen_write_events(&g, sink, u)) != 0)
			goto sinkerr;
	}
	rv = dio_sink_close(sink, &st, err, errn);
	sink = NULL;
	if (rv == 0)
		fprintf(stderr,
		        "rs-train generate: items=%" PRIu64 " users=%" PRIu64 " events=%" PRIu64
		        " stored_new=%" PRIu64 " already_stored=%" PRIu64 "\n",
		        st.items, st.users, st.events, st.events_new, st.events_dup);
	goto out;
nomem:
	snprintf(err, errn, "out of memory");
	goto out;
sinkerr:
	dio_sink_close(sink, NULL, err, errn);
	sink = NULL;
out:
	if (sink != NULL)
		dio_sink_close(sink, NULL, NULL, 0);
	gen_state_free(&g);
	return rv;
}

int
trn_cmd_generate(int argc, char **argv)
{
	gen_opts o = {.users = 1000, .items = 3000, .days = 56, .truncate = 0};
	long sessions = 25, seed = 42, end_s = (long) (time(NULL) / 3600 * 3600);
	char err[400] = "";
	int first, rv;
	const tr_opt t[] = {
	        TR_OPT_STR("dsn", &o.dsn, "DSN",
	                   "PostgreSQL conninfo (schema from db/migrations must exist)"),
	        TR_OPT_STR("out", &o.out, "DIR", "write CSV files into DIR"),
	        TR_OPT_LONG("users", &o.users, 1, 100000000, "N",
	                    "customers, ids 1..N (default 1000)"),
	        TR_OPT_LONG("items", &o.items, 1, 100000000, "M",
	                    "catalog items, ids 1..M (default 3000)"),
	        TR_OPT_LONG("days", &o.days, 1, 3650, "D", "history length in days (default 56)"),
	        TR_OPT_LONG("sessions", &sessions, 1, 100000, "S",
	                    "mean sessions per user over the history (default 25)"),
	        TR_OPT_LONG("seed", &seed, 0, (double) LONG_MAX, "X", "random seed (default 42)"),
	        TR_OPT_LONG("end", &end_s, 946684800L, 4102444800L, "UNIX_S",
	                    "last timestamp (default: now, rounded down to the hour)"),
	        TR_OPT_FLAG("truncate", &o.truncate, "empty items, users, events, event_ids first"),
	};
	const tr_opts_spec spec = {"generate", gen_usage_text, t, sizeof(t) / sizeof(t[0]), NULL,
	                           0};

	if ((rv = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return rv;
	if (first < argc || (o.dsn == NULL && o.out == NULL)) {
		fprintf(stderr, "rs-train generate: %s\n",
		        first < argc ? "unexpected argument" : "give --dsn and/or --out");
		tr_opts_usage(&spec, stderr);
		return 2;
	}
	o.sessions = (double) sessions;
	o.seed = (uint64_t) seed;
	o.end_s = end_s;
	if (gen_run(&o, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-train generate: %s\n", err[0] ? err : "failed");
		return 1;
	}
	return 0;
}
