#include "metrics.h"

#include "rs_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pre-registered (route x status) counters, so a request never takes the registry lock. The
 * route names are the route table's (gw_metrics_init). */
#define M_NROUTES GW_METRICS_MAX_ROUTES
static const char *m_routes[M_NROUTES];
static size_t m_nroutes;
static const unsigned m_statuses[] = {200, 202, 204, 304, 400, 401, 403, 404,
                                      405, 409, 413, 429, 500, 502, 503, 504};
#define M_NSTATUS (sizeof(m_statuses) / sizeof(m_statuses[0]))
static const char *const m_hops[] = {"ingest", "feature", "candidate", "ranking"};
#define M_NHOPS 4
static const char *const m_hop_fail[] = {"unavailable", "timeout", "error"};
#define M_NFAIL 3
static const char *const m_degraded[] = {"feature", "candidate", "ranking"};
#define M_NDEG 3

static struct {
	rs_metric *http_count[M_NROUTES][M_NSTATUS];
	rs_metric *http_ms[M_NROUTES];
	rs_metric *hop_ms[M_NHOPS];
	rs_metric *hop_fail[M_NHOPS][M_NFAIL];
	rs_metric *degraded[M_NDEG];
	rs_metric *popular_age;
} gm;
static pthread_once_t gm_once = PTHREAD_ONCE_INIT;

static const char H_REQ[] = "HTTP requests answered, by route and status";
static const char H_MS[] = "HTTP request time in milliseconds, by route";

static void
metrics_register(void)
{
	char l[128];
	for (size_t r = 0; r < m_nroutes; r++) {
		for (size_t s = 0; s < M_NSTATUS; s++) {
			snprintf(l, sizeof(l), "route=\"%s\",status=\"%u\"", m_routes[r],
			         m_statuses[s]);
			gm.http_count[r][s] =
			        rs_metrics_counter("rs_gateway_http_requests_total", H_REQ, l);
		}
		snprintf(l, sizeof(l), "route=\"%s\"", m_routes[r]);
		gm.http_ms[r] = rs_metrics_histogram("rs_gateway_http_duration_ms", H_MS, l);
	}
	for (int h = 0; h < M_NHOPS; h++) {
		snprintf(l, sizeof(l), "hop=\"%s\"", m_hops[h]);
		gm.hop_ms[h] = rs_metrics_histogram(
		        "rs_gateway_hop_duration_ms",
		        "Downstream call time in milliseconds, by hop (failures included)", l);
		for (int f = 0; f < M_NFAIL; f++) {
			snprintf(l, sizeof(l), "hop=\"%s\",reason=\"%s\"", m_hops[h],
			         m_hop_fail[f]);
			gm.hop_fail[h][f] = rs_metrics_counter(
			        "rs_gateway_hop_failures_total",
			        "Downstream calls that failed, by hop and reason", l);
		}
	}
	for (int d = 0; d < M_NDEG; d++) {
		snprintf(l, sizeof(l), "reason=\"%s\"", m_degraded[d]);
		gm.degraded[d] = rs_metrics_counter(
		        "rs_gateway_degraded_total",
		        "Recommendation answers served degraded, by the stage that failed", l);
	}
	gm.popular_age = rs_metrics_gauge("rs_gateway_popular_age_ms",
	                                  "Age of the cached popular list in milliseconds", NULL);
}

void
gw_metrics_init(const char *const *routes, size_t n)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	if (m_nroutes == 0) {
		for (size_t i = 0; i < n && i < M_NROUTES; i++)
			m_routes[i] = routes[i];
		m_nroutes = n < M_NROUTES ? n : M_NROUTES;
	}
	pthread_mutex_unlock(&mu);
	pthread_once(&gm_once, metrics_register);
}

static int
metrics_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int) i;
	return -1;
}

void
gw_metrics_http(const char *route, unsigned status, double ms)
{
	int r = metrics_index(m_routes, m_nroutes, route);
	if (r < 0)
		return;
	for (size_t s = 0; s < M_NSTATUS; s++) {
		if (m_statuses[s] == status) {
			rs_metric_add(gm.http_count[r][s], 1);
			break;
		}
	}
	rs_metric_observe(gm.http_ms[r], ms);
}

void
gw_metrics_hop(const char *hop, double ms, const char *failure)
{
	int h = metrics_index(m_hops, M_NHOPS, hop);
	if (h < 0)
		return;
	rs_metric_observe(gm.hop_ms[h], ms);
	if (failure != NULL) {
		int f = metrics_index(m_hop_fail, M_NFAIL, failure);
		rs_metric_add(gm.hop_fail[h][f < 0 ? M_NFAIL - 1 : f], 1);
	}
}

void
gw_metrics_degraded(const char *reason)
{
	int d = metrics_index(m_degraded, M_NDEG, reason);
	if (d >= 0)
		rs_metric_add(gm.degraded[d], 1);
}

void
gw_metrics_popular_age(double ms)
{
	rs_metric_set(gm.popular_age, ms);
}

/* ---- merging exposition texts ---- */

typedef struct mline {
	const char *l_start;
	size_t l_len;
	int l_part;
} mline;

typedef struct mfamily {
	char f_name[128];
	const char *f_help; /* the "# HELP ..." line (first seen), not NUL-terminated */
	size_t f_help_len;
	const char *f_type;
	size_t f_type_len;
	mline *f_lines;
	size_t f_n, f_cap;
} mfamily;

typedef struct mbuf {
	char *s;
	size_t n, cap;
	int oom;
} mbuf;

static void
mbuf_put(mbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static mfamily *
family_get(mfamily **fams, size_t *nf, size_t *capf, const char *name, size_t nlen)
{
	if (nlen >= sizeof((*fams)->f_name))
		nlen = sizeof((*fams)->f_name) - 1;
	for (size_t i = 0; i < *nf; i++)
		if (strncmp((*fams)[i].f_name, name, nlen) == 0 && (*fams)[i].f_name[nlen] == '\0')
			return &(*fams)[i];
	if (*nf == *capf) {
		size_t cap = *capf ? *capf * 2 : 64;
		mfamily *nfm = realloc(*fams, cap * sizeof(*nfm));
		if (nfm == NULL)
			return NULL;
		*fams = nfm;
		*capf = cap;
	}
	mfamily *f = &(*fams)[(*nf)++];
	memset(f, 0, sizeof(*f));
	memcpy(f->f_name, name, nlen);
	f->f_name[nlen] = '\0';
	return f;
}

static int
family_add_line(mfamily *f, const char *s, size_t n, int part)
{
	if (f->f_n == f->f_cap) {
		size_t cap = f->f_cap ? f->f_cap * 2 : 16;
		mline *nl = realloc(f->f_lines, cap * sizeof(*nl));
		if (nl == NULL)
			return -1;
		f->f_lines = nl;
		f->f_cap = cap;
	}
	f->f_lines[f->f_n++] = (mline){s, n, part};
	return 0;
}

/* The family of a sample line: the name of the last TYPE line seen in that part, if the
 * sample's name starts with it (histogram _bucket/_sum/_count), else the sample's name. */
static size_t
sample_name_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != '{' && s[i] != ' ')
		i++;
	return i;
}

char *
gw_metrics_merge(const char *const *parts, const char *const *svcs, int n)
{
	mfamily *fams = NULL;
	size_t nf = 0, capf = 0;
	mbuf out = {0};
	int oom = 0;

	for (int p = 0; p < n && !oom; p++) {
		const char *s = parts[p];
		mfamily *cur = NULL;
		if (s == NULL)
			continue;
		while (*s != '\0' && !oom) {
			const char *e = strchr(s, '\n');
			size_t len = e != NULL ? (size_t) (e - s) : strlen(s);
			if (len == 0) {
				/* blank line */
			} else if (len > 7 && (strncmp(s, "# HELP ", 7) == 0 ||
			                       strncmp(s, "# TYPE ", 7) == 0)) {
				const char *nm = s + 7;
				size_t nl = 0;
				while (7 + nl < len && nm[nl] != ' ')
					nl++;
				cur = family_get(&fams, &nf, &capf, nm, nl);
				if (cur == NULL) {
					oom = 1;
					break;
				}
				if (s[2] == 'H' && cur->f_help == NULL) {
					cur->f_help = s;
					cur->f_help_len = len;
				} else if (s[2] == 'T' && cur->f_type == NULL) {
					cur->f_type = s;
					cur->f_type_len = len;
				}
			} else if (s[0] != '#') {
				size_t nl = sample_name_len(s, len);
				mfamily *f = cur;
				if (f == NULL || strncmp(s, f->f_name, strlen(f->f_name)) != 0)
					f = family_get(&fams, &nf, &capf, s, nl);
				if (f == NULL || family_add_line(f, s, len, p) != 0)
					oom = 1;
			}
			s += len + (e != NULL ? 1 : 0);
		}
	}
	for (size_t i = 0; i < nf && !oom; i++) {
		mfamily *f = &fams[i];
		if (f->f_help != NULL) {
			mbuf_put(&out, f->f_help, f->f_help_len);
			mbuf_put(&out, "\n", 1);
		}
		if (f->f_type != NULL) {
			mbuf_put(&out, f->f_type, f->f_type_len);
			mbuf_put(&out, "\n", 1);
		}
		for (size_t j = 0; j < f->f_n; j++) {
			const mline *l = &f->f_lines[j];
			const char *svc = svcs[l->l_part];
			size_t nl = sample_name_len(l->l_start, l->l_len);
			char lab[96];
			mbuf_put(&out, l->l_start, nl);
			if (svc != NULL && nl < l->l_len && l->l_start[nl] == '{') {
				int k = snprintf(lab, sizeof(lab), "{svc=\"%s\",", svc);
				mbuf_put(&out, lab, (size_t) k);
				mbuf_put(&out, l->l_start + nl + 1, l->l_len - nl - 1);
			} else if (svc != NULL) {
				int k = snprintf(lab, sizeof(lab), "{svc=\"%s\"}", svc);
				mbuf_put(&out, lab, (size_t) k);
				mbuf_put(&out, l->l_start + nl, l->l_len - nl);
			} else {
				mbuf_put(&out, l->l_start + nl, l->l_len - nl);
			}
			mbuf_put(&out, "\n", 1);
		}
	}
	for (size_t i = 0; i < nf; i++)
		free(fams[i].f_lines);
	free(fams);
	if (oom || out.oom) {
		free(out.s);
		return NULL;
	}
	if (out.s == NULL)
		out.s = calloc(1, 1);
	return out.s;
}
