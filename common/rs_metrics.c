#include "rs_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_kind;

static const double hist_bounds[] = {0.1, 0.25, 0.5, 1,   2.5, 5,    10,
                                     25,  50,   100, 250, 500, 1000, 5000};
#define HIST_N (sizeof(hist_bounds) / sizeof(hist_bounds[0]))

struct rs_metric {
	struct rs_metric *m_next;
	metric_kind m_kind;
	char m_name[96];
	char m_help[160];
	char m_labels[192];
	_Atomic uint64_t m_count;          /* counter value, histogram count */
	_Atomic uint64_t m_gauge_bits;     /* gauge value as double bits */
	_Atomic uint64_t m_sum_us;         /* histogram sum in µs */
	_Atomic uint64_t m_bucket[HIST_N]; /* non-cumulative */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static rs_metric *reg_head;
static rs_metric *reg_tail;

static rs_metric *
metrics_get(metric_kind kind, const char *name, const char *help, const char *labels)
{
	rs_metric *m;

	if (labels == NULL)
		labels = "";
	pthread_mutex_lock(&reg_lock);
	for (m = reg_head; m != NULL; m = m->m_next) {
		if (m->m_kind == kind && strcmp(m->m_name, name) == 0 &&
		    strcmp(m->m_labels, labels) == 0)
			goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto out;
	m->m_kind = kind;
	snprintf(m->m_name, sizeof(m->m_name), "%s", name);
	snprintf(m->m_help, sizeof(m->m_help), "%s", help != NULL ? help : "");
	snprintf(m->m_labels, sizeof(m->m_labels), "%s", labels);
	/* Append, so series of one name stay together in registration order. */
	if (reg_tail != NULL)
		reg_tail->m_next = m;
	else
		reg_head = m;
	reg_tail = m;
out:
	pthread_mutex_unlock(&reg_lock);
	return m;
}

rs_metric *
rs_metrics_counter(const char *name, const char *help, const char *labels)
{
	return metrics_get(M_COUNTER, name, help, labels);
}

rs_metric *
rs_metrics_gauge(const char *name, const char *help, const char *labels)
{
	return metrics_get(M_GAUGE, name, help, labels);
}

rs_metric *
rs_metrics_histogram(const char *name, const char *help, const char *labels)
{
	return metrics_get(M_HISTOGRAM, name, help, labels);
}

void
rs_metric_add(rs_metric *m, uint64_t n)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->m_count, n, memory_order_relaxed);
}

void
rs_metric_set(rs_metric *m, double v)
{
	uint64_t bits;
	if (m == NULL)
		return;
	memcpy(&bits, &v, sizeof(bits));
	atomic_store_explicit(&m->m_gauge_bits, bits, memory_order_relaxed);
}

void
rs_metric_observe(rs_metric *m, double ms)
{
	size_t i;
	if (m == NULL)
		return;
	if (ms < 0)
		ms = 0;
	for (i = 0; i < HIST_N && ms > hist_bounds[i]; i++)
		;
	if (i < HIST_N)
		atomic_fetch_add_explicit(&m->m_bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->m_sum_us, (uint64_t) (ms * 1000.0), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->m_count, 1, memory_order_relaxed);
}

uint64_t
rs_metric_count(const rs_metric *m)
{
	return m == NULL ? 0 : atomic_load_explicit(&m->m_count, memory_order_relaxed);
}

/* A growable string buffer for rendering. */
typedef struct {
	char *s;
	size_t n, cap;
	int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (b->oom)
			return;
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int w = vsnprintf(b->s + b->n, room, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t) w < room) {
			b->n += (size_t) w;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t) w + 1;
		char *ns = realloc(b->s, ncap);
		if (ns == NULL) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

/* Writes "{a,b}" joining the series labels, the extra labels and one more pair. */
static void
sb_labels(sbuf *b, const char *own, const char *extra, const char *more)
{
	const char *parts[3] = {own, extra, more};
	int first = 1;
	for (int i = 0; i < 3; i++) {
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		sb_printf(b, "%s%s", first ? "{" : ",", parts[i]);
		first = 0;
	}
	if (!first)
		sb_printf(b, "}");
}

static void
render_series(sbuf *b, const rs_metric *m, const char *extra)
{
	if (m->m_kind == M_COUNTER) {
		sb_printf(b, "%s", m->m_name);
		sb_labels(b, m->m_labels, extra, NULL);
		sb_printf(b, " %llu\n", (unsigned long long) rs_metric_count(m));
	} else if (m->m_kind == M_GAUGE) {
		uint64_t bits = atomic_load_explicit(&m->m_gauge_bits, memory_order_relaxed);
		double v;
		memcpy(&v, &bits, sizeof(v));
		sb_printf(b, "%s", m->m_name);
		sb_labels(b, m->m_labels, extra, NULL);
		sb_printf(b, " %.17g\n", v);
	} else {
		uint64_t cum = 0;
		char le[48];
		for (size_t i = 0; i < HIST_N; i++) {
			cum += atomic_load_explicit(&m->m_bucket[i], memory_order_relaxed);
			snprintf(le, sizeof(le), "le=\"%g\"", hist_bounds[i]);
			sb_printf(b, "%s_bucket", m->m_name);
			sb_labels(b, m->m_labels, extra, le);
			sb_printf(b, " %llu\n", (unsigned long long) cum);
		}
		uint64_t count = rs_metric_count(m);
		sb_printf(b, "%s_bucket", m->m_name);
		sb_labels(b, m->m_labels, extra, "le=\"+Inf\"");
		sb_printf(b, " %llu\n%s_sum", (unsigned long long) count, m->m_name);
		sb_labels(b, m->m_labels, extra, NULL);
		sb_printf(b, " %.6f\n%s_count", (double) atomic_load(&m->m_sum_us) / 1000.0,
		          m->m_name);
		sb_labels(b, m->m_labels, extra, NULL);
		sb_printf(b, " %llu\n", (unsigned long long) count);
	}
}

char *
rs_metrics_render(const char *extra)
{
	static const char *const kinds[] = {"counter", "gauge", "histogram"};
	sbuf b = {malloc(4096), 0, 4096, 0};

	if (b.s == NULL)
		return NULL;
	b.s[0] = '\0';
	pthread_mutex_lock(&reg_lock);
	for (rs_metric *m = reg_head; m != NULL; m = m->m_next) {
		/* The exposition format wants all series of a name in one group after one
		 * HELP/TYPE: render each name at its first registration, with all its series. */
		int seen = 0;
		for (rs_metric *p = reg_head; p != m && !seen; p = p->m_next)
			seen = strcmp(p->m_name, m->m_name) == 0;
		if (seen)
			continue;
		sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->m_name, m->m_help, m->m_name,
		          kinds[m->m_kind]);
		for (rs_metric *s = m; s != NULL; s = s->m_next)
			if (strcmp(s->m_name, m->m_name) == 0)
				render_series(&b, s, extra);
	}
	pthread_mutex_unlock(&reg_lock);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
