#include "sub.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "rs_envelope.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_time.h"

struct feat_sub {
	nng_socket su_sock;
	feat_cache *su_cache;
	atomic_int su_pipes;
	int su_publishers; /* URLs dialled: one pipe each when every publisher is connected */
	atomic_uint_fast64_t su_epoch;
	rs_metric *su_events, *su_bad, *su_applied;
	rs_metric *su_lag_ms, *su_lag_last_ms; /* stream lag: commit in ingest -> applied here */
};

static void
sub_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	feat_sub *s = arg;
	(void) p;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&s->su_epoch, 1); /* before counting it: see feat_sub_epoch */
		atomic_fetch_add(&s->su_pipes, 1);
		rs_log_info("feature.sub_connected", "pipes=%d", atomic_load(&s->su_pipes));
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&s->su_pipes, 1);
		rs_log_warn("feature.sub_disconnected", "pipes=%d", atomic_load(&s->su_pipes));
	}
}

int
feat_sub_open(feat_sub **out, const char *url, feat_cache *cache)
{
	feat_sub *s;
	int rv;

	if (url == NULL || cache == NULL)
		return RS_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RS_ENOMEM;
	s->su_cache = cache;
	atomic_init(&s->su_pipes, 0);
	atomic_init(&s->su_epoch, 1);
	s->su_events = rs_metrics_counter("rs_feature_stream_events_total",
	                                  "Events received from ingest's stream", NULL);
	s->su_bad = rs_metrics_counter("rs_feature_stream_malformed_total",
	                               "Stream messages that were not a valid rs.Event", NULL);
	s->su_applied = rs_metrics_counter("rs_feature_stream_applied_total",
	                                   "Stream events that changed a cached history", NULL);
	s->su_lag_ms = rs_metrics_histogram(
	        "rs_feature_stream_lag_ms",
	        "Milliseconds from ingest committing an event to this replica applying it", NULL);
	s->su_lag_last_ms = rs_metrics_gauge(
	        "rs_feature_stream_lag_last_ms",
	        "Stream lag in milliseconds of the last group of events applied", NULL);
	if ((rv = nng_sub0_open(&s->su_sock)) != 0) {
		free(s);
		return rs_err_from_nng(rv);
	}
	nng_socket_set(s->su_sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_int(s->su_sock, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_ms(s->su_sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(s->su_sock, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(s->su_sock, NNG_PIPE_EV_ADD_POST, sub_pipe_cb, s);
	nng_pipe_notify(s->su_sock, NNG_PIPE_EV_REM_POST, sub_pipe_cb, s);
	/* One dialer per publisher (every ingest replica publishes its own events). */
	char *list = strdup(url), *save = NULL;
	rv = list == NULL ? NNG_ENOMEM : 0;
	for (char *u = list != NULL ? strtok_r(list, ",", &save) : NULL; rv == 0 && u != NULL;
	     u = strtok_r(NULL, ",", &save)) {
		u += strspn(u, " ");
		u[strcspn(u, " ")] = '\0';
		if (*u == '\0')
			continue;
		if ((rv = nng_dial(s->su_sock, u, NULL, NNG_FLAG_NONBLOCK)) == 0)
			s->su_publishers++;
	}
	free(list);
	if (rv == 0 && s->su_publishers == 0)
		rv = NNG_EADDRINVAL;
	if (rv != 0) {
		nng_close(s->su_sock);
		free(s);
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? RS_EINVAL : rs_err_from_nng(rv);
	}
	*out = s;
	return 0;
}

void
feat_sub_close(feat_sub *s)
{
	if (s == NULL)
		return;
	nng_close(s->su_sock);
	free(s);
}

int
feat_sub_connected(feat_sub *s)
{
	return s != NULL ? atomic_load(&s->su_pipes) : 0;
}

int
feat_sub_publishers(feat_sub *s)
{
	return s != NULL ? s->su_publishers : 0;
}

int
feat_sub_complete(feat_sub *s)
{
	return s != NULL && atomic_load(&s->su_pipes) >= s->su_publishers;
}

uint64_t
feat_sub_epoch(feat_sub *s)
{
	return s != NULL ? atomic_load(&s->su_epoch) : 0;
}

/* Applies one event of the stream; 1 when it was well-formed. */
static int
sub_apply_event(feat_sub *s, const Rs__Event *ev)
{
	feat_event e;

	rs_metric_add(s->su_events, 1);
	if (ev == NULL || ev->user_id <= 0 || ev->item_id <= 0 ||
	    ev->type <= RS__EVENT_TYPE__EVENT_UNSPECIFIED ||
	    ev->type > RS__EVENT_TYPE__EVENT_NOT_INTERESTED) {
		rs_metric_add(s->su_bad, 1);
		return 0;
	}
	e.item_id = ev->item_id;
	e.type = (int32_t) ev->type;
	e.ts_ms = ev->ts_ms > 0 ? ev->ts_ms : rs_now_ms();
	e.value = ev->has_value ? ev->value : 0;
	e.id_hash = feat_event_id_hash(ev->event_id);
	if (feat_cache_apply(s->su_cache, ev->user_id, &e))
		rs_metric_add(s->su_applied, 1);
	return 1;
}

/* One stream message: Envelope{METHOD_EVENT_STREAM, EventBatch} (ingest publishes one per
 * committed group). Returns the events applied; a message that is not such an envelope (another
 * method, no schema version, a bare EventBatch) or whose body does not decode counts as one bad
 * event. */
static int
sub_apply(feat_sub *s, const uint8_t *data, size_t len)
{
	rs_env env;
	Rs__EventBatch *b = NULL;
	int n = 0;

	if (rs_env_parse(data, len, &env) == 0 && env.e_schema_version >= 1 &&
	    env.e_method == RS__METHOD__METHOD_EVENT_STREAM)
		b = rs__event_batch__unpack(NULL, env.e_body_len, env.e_body);
	if (b == NULL) {
		rs_metric_add(s->su_events, 1);
		rs_metric_add(s->su_bad, 1);
		return 0;
	}
	for (size_t i = 0; i < b->n_events; i++)
		n += sub_apply_event(s, b->events[i]);
	/* Lag per event, measured once the group is applied: clocks of two hosts may disagree by a
	 * little, so a commit "in the future" counts as no lag. Older publishers send no time. */
	if (b->stored_unix_ms > 0 && n > 0) {
		int64_t lag = rs_now_ms() - b->stored_unix_ms;
		double ms = lag > 0 ? (double) lag : 0.0;
		for (int i = 0; i < n; i++)
			rs_metric_observe(s->su_lag_ms, ms);
		rs_metric_set(s->su_lag_last_ms, ms);
	}
	rs__event_batch__free_unpacked(b, NULL);
	return n;
}

int
feat_sub_poll(feat_sub *s, int timeout_ms)
{
	nng_msg *msg;
	int n = 0;

	nng_socket_set_ms(s->su_sock, NNG_OPT_RECVTIMEO, timeout_ms);
	if (nng_recvmsg(s->su_sock, &msg, 0) != 0)
		return 0;
	do {
		n += sub_apply(s, nng_msg_body(msg), nng_msg_len(msg));
		nng_msg_free(msg);
	} while (nng_recvmsg(s->su_sock, &msg, NNG_FLAG_NONBLOCK) == 0);
	return n;
}
