#include "dio.h"
#include "rs_hash.h"

#include <math.h>

void
dio_rng_seed(dio_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rs_splitmix64(&seed);
}

static uint64_t
rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
dio_rng_next(dio_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return out;
}

double
dio_rng_unif(dio_rng *r)
{
	return (double) (dio_rng_next(r) >> 11) * 0x1.0p-53;
}

double
dio_rng_normal(dio_rng *r)
{
	double u = dio_rng_unif(r), v = dio_rng_unif(r);
	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

uint32_t
dio_rng_below(dio_rng *r, uint32_t n)
{
	return (uint32_t) (((dio_rng_next(r) >> 32) * (uint64_t) n) >> 32);
}

size_t
dio_rng_pick_cum(dio_rng *r, const double *cum, size_t n)
{
	double x = dio_rng_unif(r) * cum[n - 1];
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
