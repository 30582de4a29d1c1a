/* expstats: the statistics of the experiment report (expreport.c), pure functions over sums.
 *
 * Intervals are 95 % normal intervals, value +- 1.96 se (large-sample; the report says so):
 *   mean of per-unit values      se^2 = s^2 / n (s^2 the sample variance, n - 1)
 *   proportion k / n             se^2 = p (1 - p) / n (Wald)
 *   ratio sum(y) / sum(x) over units (CTR: clicks / impressions per customer): the delta method,
 *                                se^2 = (s_y^2 - 2 R s_xy + R^2 s_x^2) / (n xbar^2)
 * Tests: Welch's t (unequal variances, Welch-Satterthwaite degrees of freedom, Student's t
 * distribution through the regularized incomplete beta function), the two-proportion z test
 * (pooled), a z test on the difference of two delta-method ratios, and Pearson's chi-square
 * upper tail (the regularized upper incomplete gamma function) for the sample-ratio check. */
#ifndef GW_EXPSTATS_H
#define GW_EXPSTATS_H

#define GW_ES_Z95 1.959963984540054

typedef struct gw_est {
	int ok; /* 0: undefined (no units, or a zero denominator) */
	double value, se, lo, hi;
} gw_est;

gw_est gw_es_mean(double n, double sum, double sum2);
gw_est gw_es_prop(double n, double k);
gw_est gw_es_ratio(double n, double sy, double sx, double syy, double sxx, double sxy);

/* two-sided p of a standard normal z */
double gw_es_norm_p2(double z);
/* two-sided p of Student's t with df degrees of freedom */
double gw_es_t_p2(double t, double df);
/* P(X >= x) for chi-square with df degrees of freedom */
double gw_es_chi2_q(double x, double df);

/* Welch's test of mean a - mean b: t, df and two-sided p. se2a, se2b: squared standard errors
 * of the two means (s^2 / n), na, nb: units. */
void gw_es_welch(double diff, double se2a, double na, double se2b, double nb, double *t, double *df,
                 double *p);

/* the two-proportion z test (pooled): z and two-sided p of ka/na - kb/nb. */
void gw_es_two_prop(double ka, double na, double kb, double nb, double *z, double *p);

#endif
