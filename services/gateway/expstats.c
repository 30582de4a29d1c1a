#include "expstats.h"

#include <math.h>

static gw_est
est(double value, double se)
{
	gw_est e = {1, value, se, value - GW_ES_Z95 * se, value + GW_ES_Z95 * se};
	return e;
}

gw_est
gw_es_mean(double n, double sum, double sum2)
{
	if (n < 1)
		return (gw_est){0, 0, 0, 0, 0};
	double m = sum / n;
	double var = n > 1 ? (sum2 - n * m * m) / (n - 1) : 0;
	return est(m, sqrt(var > 0 ? var / n : 0));
}

gw_est
gw_es_prop(double n, double k)
{
	if (n < 1)
		return (gw_est){0, 0, 0, 0, 0};
	double p = k / n;
	return est(p, sqrt(p * (1 - p) / n));
}

gw_est
gw_es_ratio(double n, double sy, double sx, double syy, double sxx, double sxy)
{
	if (n < 1 || sx <= 0)
		return (gw_est){0, 0, 0, 0, 0};
	double r = sy / sx, mx = sx / n, my = sy / n;
	if (n < 2)
		return est(r, 0);
	double vy = (syy - n * my * my) / (n - 1), vx = (sxx - n * mx * mx) / (n - 1);
	double cxy = (sxy - n * mx * my) / (n - 1);
	double v = (vy - 2 * r * cxy + r * r * vx) / (n * mx * mx);
	return est(r, sqrt(v > 0 ? v : 0));
}

double
gw_es_norm_p2(double z)
{
	return erfc(fabs(z) / sqrt(2.0));
}

#define BETACF_TINY 1e-300

/* One step of the modified Lentz method for the partial numerator aa: the next c and d, and
 * the factor of the fraction's value it brings. */
static double
betacf_step(double aa, double *c, double *d)
{
	*d = 1 + aa * *d;
	if (fabs(*d) < BETACF_TINY)
		*d = BETACF_TINY;
	*c = 1 + aa / *c;
	if (fabs(*c) < BETACF_TINY)
		*c = BETACF_TINY;
	*d = 1 / *d;
	return *d * *c;
}

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double
betacf(double a, double b, double x)
{
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
	if (fabs(d) < BETACF_TINY)
		d = BETACF_TINY;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 300; m++) {
		int m2 = 2 * m;
		h *= betacf_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &c, &d);
		double del =
		        betacf_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), &c, &d);
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

/* regularized incomplete beta I_x(a, b) */
static double
ibeta(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return bt * betacf(a, b, x) / a;
	return 1 - bt * betacf(b, a, 1 - x) / b;
}

double
gw_es_t_p2(double t, double df)
{
	if (!(df > 0))
		return 1;
	if (isinf(df))
		return gw_es_norm_p2(t);
	return ibeta(df / 2, 0.5, df / (df + t * t));
}

double
gw_es_chi2_q(double x, double df)
{
	double a = df / 2, y = x / 2;
	if (!(x > 0) || !(a > 0))
		return 1;
	double gln = lgamma(a);
	if (y < a + 1) { /* series for P, Q = 1 - P */
		double ap = a, sum = 1 / a, del = sum;
		for (int n = 0; n < 1000; n++) {
			ap += 1;
			del *= y / ap;
			sum += del;
			if (fabs(del) < fabs(sum) * 1e-15)
				break;
		}
		return 1 - sum * exp(-y + a * log(y) - gln);
	}
	/* continued fraction for Q (modified Lentz) */
	const double tiny = 1e-300;
	double b = y + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
	for (int i = 1; i < 1000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return exp(-y + a * log(y) - gln) * h;
}

void
gw_es_welch(double diff, double se2a, double na, double se2b, double nb, double *t, double *df,
            double *p)
{
	double se2 = se2a + se2b;
	if (!(se2 > 0) || na < 2 || nb < 2) {
		*t = 0;
		*df = 0;
		*p = 1;
		return;
	}
	*t = diff / sqrt(se2);
	*df = se2 * se2 / (se2a * se2a / (na - 1) + se2b * se2b / (nb - 1));
	*p = gw_es_t_p2(*t, *df);
}

void
gw_es_two_prop(double ka, double na, double kb, double nb, double *z, double *p)
{
	double pp = na + nb > 0 ? (ka + kb) / (na + nb) : 0;
	double se = sqrt(pp * (1 - pp) * (1 / na + 1 / nb));
	if (!(na > 0) || !(nb > 0) || !(se > 0)) {
		*z = 0;
		*p = 1;
		return;
	}
	*z = (ka / na - kb / nb) / se;
	*p = gw_es_norm_p2(*z);
}
