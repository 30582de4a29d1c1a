#include "rs_rpc.h"
#include "rs_pbwire.h"
#include "rs_rpc_sp.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_time.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPC_SEND_MS      2000 /* a reply that cannot be sent in this time is dropped */
#define RPC_MAX_MSG      (64u << 20)
#define RPC_STATUS_COUNT 7

_Static_assert(RS_RPC_BODY_MAX == RPC_SP_BODY_MAX, "a body's pieces: the same bound for both");

static atomic_int rpc_transport = RS_RPC_TRANSPORT_SOCKET;

void
rs_rpc_set_transport(rs_rpc_transport t)
{
	atomic_store(&rpc_transport, (int) t);
}

/* 1 when url goes over rs_rpc_sp.c's plain sockets, 0 for NNG's req/rep sockets. */
static int
rpc_uses_sp(const char *url)
{
	return atomic_load(&rpc_transport) == RS_RPC_TRANSPORT_SOCKET && rpc_sp_handles(url);
}

typedef struct rpc_route_stats {
	rs_metric *rs_count[RPC_STATUS_COUNT];
	rs_metric *rs_latency;
} rpc_route_stats;

typedef struct rpc_worker {
	struct rs_rpc_server *w_srv;
	pthread_t w_thread;
	nng_ctx w_ctx;
	nng_aio *w_aio;
	rs_arena *w_arena;
	int w_started;
	int w_receiving; /* waiting in recv, guarded by s_lock */
} rpc_worker;

struct rs_rpc_server {
	nng_socket s_sock;
	const rs_rpc_route *s_routes;
	size_t s_nroutes;
	rpc_route_stats *s_stats;
	void *s_ud;
	rpc_worker *s_workers;
	int s_nworkers;
	atomic_int s_stop;
	pthread_mutex_t s_lock; /* s_stop changes and w_receiving */
	rs_metric *s_unknown;
	rpc_sp_server *s_sp; /* tcp:// and ipc://: plain sockets instead of NNG */
	char s_url[300];     /* what clients dial (a tcp port 0 resolved) */
	/* NNG's sockets: pipes (connections) held, the cap, and the cap's metrics (the names of
	 * rs_rpc_sp.c's: rs_rpc_connections, rs_rpc_connections_full_total) */
	pthread_mutex_t s_pipe_mu; /* guards s_pipe_ids */
	uint32_t *s_pipe_ids;      /* the admitted pipes' ids (s_pipes of them, max_conns room) */
	atomic_int s_pipes;
	int s_max_conns;
	rs_metric *s_m_conns, *s_m_full;
};

/* s_url = url with a trailing tcp port 0 replaced by port (when port > 0). */
static void
rpc_server_set_url(rs_rpc_server *s, const char *url, int port)
{
	size_t n = strlen(url);
	if (port > 0 && n >= 2 && strncmp(url + n - 2, ":0", 2) == 0)
		snprintf(s->s_url, sizeof(s->s_url), "%.*s:%d", (int) (n - 2), url, port);
	else
		snprintf(s->s_url, sizeof(s->s_url), "%s", url);
}

const char *
rs_rpc_server_url(const rs_rpc_server *s)
{
	return s->s_url;
}

int
rs_rpc_server_conns(const rs_rpc_server *s)
{
	return s->s_sp != NULL ? rpc_sp_server_conns(s->s_sp)
	                       : atomic_load(&((rs_rpc_server *) s)->s_pipes);
}

/* NNG's pipe events (its own threads): a pipe beyond max_conns is closed before the socket
 * sees it (NNG_PIPE_EV_ADD_PRE); the peer's dialer sees the connection end and redials after
 * its back-off. Only admitted pipes are counted, by id: NNG may report the removal of a pipe
 * closed in ADD_PRE too. */
static void
rpc_server_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rs_rpc_server *s = arg;
	uint32_t id = (uint32_t) nng_pipe_id(p);
	int n, full = 0;

	pthread_mutex_lock(&s->s_pipe_mu);
	n = atomic_load(&s->s_pipes);
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		if (n >= s->s_max_conns)
			full = 1;
		else
			s->s_pipe_ids[n++] = id;
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		for (int i = 0; i < n; i++)
			if (s->s_pipe_ids[i] == id) {
				s->s_pipe_ids[i] = s->s_pipe_ids[--n];
				break;
			}
	}
	atomic_store(&s->s_pipes, n);
	pthread_mutex_unlock(&s->s_pipe_mu);
	rs_metric_set(s->s_m_conns, n);
	if (full) {
		nng_pipe_close(p);
		rs_metric_add(s->s_m_full, 1);
		rs_log_warn("rpc.connections_full",
		            "max_conns=%d transport=nng (the new connection is closed)",
		            s->s_max_conns);
	}
}

Rs__Status
rs_rpc_status_of(int rv)
{
	switch (rv) {
	case RS_ENOTFOUND:
		return RS__STATUS__STATUS_NOT_FOUND;
	case RS_EINVAL:
		return RS__STATUS__STATUS_INVALID;
	case RS_ETIMEDOUT:
		return RS__STATUS__STATUS_DEADLINE;
	case RS_ENOMEM:
	case RS_EINTERNAL:
		return RS__STATUS__STATUS_INTERNAL;
	default:
		return RS__STATUS__STATUS_UNAVAILABLE;
	}
}

const char *
rs_rpc_status_name(Rs__Status s)
{
	switch (s) {
	case RS__STATUS__STATUS_OK:
		return "ok";
	case RS__STATUS__STATUS_INVALID:
		return "invalid";
	case RS__STATUS__STATUS_NOT_FOUND:
		return "not_found";
	case RS__STATUS__STATUS_UNAVAILABLE:
		return "unavailable";
	case RS__STATUS__STATUS_DEADLINE:
		return "deadline";
	case RS__STATUS__STATUS_INTERNAL:
		return "internal";
	case RS__STATUS__STATUS_UNSUPPORTED:
		return "unsupported";
	default:
		return "unknown";
	}
}

int
rs_rpc_unpack(rs_rpc_call *call, const ProtobufCMessageDescriptor *desc, void **out)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, rs_arena_pb(call->arena),
	                                                call->body_len, call->body);
	if (m == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "body is not a valid %s",
		            desc->short_name);
		return RS_EPROTO;
	}
	*out = m;
	return 0;
}

int
rs_rpc_reply(rs_rpc_call *call, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = rs_arena_alloc(call->arena, n ? n : 1);
	if (buf == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory packing reply");
		return RS_ENOMEM;
	}
	call->resp_len = protobuf_c_message_pack(m, buf);
	call->resp = buf;
	return 0;
}

void
rs_rpc_fail(rs_rpc_call *call, Rs__Status status, const char *fmt, ...)
{
	va_list ap;
	call->status = status;
	va_start(ap, fmt);
	vsnprintf(call->error, sizeof(call->error), fmt, ap);
	va_end(ap);
}

void
rs_rpc_header_init(rs_rpc_call *call, Rs__ResponseHeader *h, const char *svc,
                   const char *model_version)
{
	rs__response_header__init(h);
	h->status = call->status;
	h->error = call->error[0] ? rs_arena_strdup(call->arena, call->error) : "";
	h->service = (char *) (svc != NULL ? svc : "");
	h->model_version = (char *) (model_version != NULL ? model_version : "");
}

static void
rpc_builtin_health(void *ud, rs_rpc_call *call)
{
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	rs_rpc_header_init(call, &h, NULL, NULL);
	resp.header = &h;
	resp.ready = 1;
	rs_rpc_reply(call, &resp.base);
}

static void
rpc_builtin_metrics(void *ud, rs_rpc_call *call)
{
	Rs__MetricsResponse resp = RS__METRICS_RESPONSE__INIT;
	Rs__ResponseHeader h;
	char *text = rs_metrics_render(NULL);
	(void) ud;
	if (text == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	rs_rpc_header_init(call, &h, NULL, NULL);
	resp.header = &h;
	resp.text = rs_arena_strdup(call->arena, text);
	free(text);
	if (resp.text == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	rs_rpc_reply(call, &resp.base);
}

/* Reads request id and deadline from any body: field 1 of every request is its header.
 * Only that field is unpacked (unpacking the body as a RequestPrefix would copy every
 * other field into the arena as an unknown field). */
static void
rpc_read_prefix(rs_rpc_call *call)
{
	const uint8_t *p = call->body, *end = call->body + call->body_len;
	const uint8_t *hdr = NULL;
	size_t hlen = 0;
	rs_pbw_field f;

	call->request_id = "";
	call->deadline_unix_ms = 0;
	while (rs_pbw_next(&p, end, &f) == 1)
		if (f.f_num == 1 && f.f_type == RS_PBW_LEN) {
			hdr = f.f_data;
			hlen = f.f_len;
		}
	if (hdr == NULL)
		return;
	Rs__RequestHeader *h = rs__request_header__unpack(rs_arena_pb(call->arena), hlen, hdr);
	if (h != NULL) {
		call->request_id = h->request_id != NULL ? h->request_id : "";
		call->deadline_unix_ms = h->deadline_unix_ms;
	}
}

/* Handles one request message; the reply envelope is *pre (its fields up to the body's tag
 * and length) followed by *body, both arena memory (or static). */
static int
rpc_dispatch(rs_rpc_server *s, const uint8_t *data, size_t len, rs_arena *arena, uint8_t **pre,
             size_t *prelen, const uint8_t **body, size_t *bodylen)
{
	rs_rpc_call call = {.arena = arena, .status = RS__STATUS__STATUS_OK};
	Rs__Envelope reply = RS__ENVELOPE__INIT;
	const rs_rpc_route *route = NULL;
	size_t ri = 0;
	double t0 = rs_mono_ms();

	rs_env env;
	if (rs_env_parse(data, len, &env) != 0) {
		rs_rpc_fail(&call, RS__STATUS__STATUS_INVALID, "message is not an Envelope");
		rs_metric_add(s->s_unknown, 1);
		goto reply;
	}
	reply.method = call.method = (Rs__Method) env.e_method;
	if (env.e_schema_version < 1) {
		rs_rpc_fail(&call, RS__STATUS__STATUS_UNSUPPORTED, "schema version %u unsupported",
		            env.e_schema_version);
		rs_metric_add(s->s_unknown, 1);
		goto reply;
	}
	for (ri = 0; ri < s->s_nroutes; ri++) {
		if ((int32_t) s->s_routes[ri].method == env.e_method) {
			route = &s->s_routes[ri];
			break;
		}
	}
	call.body = env.e_body;
	call.body_len = env.e_body_len;
	rpc_read_prefix(&call);
	rs_log_set_request(call.request_id); /* this thread's log lines carry it: req=<id> */
	if (route == NULL && env.e_method == RS__METHOD__METHOD_HEALTH) {
		rpc_builtin_health(s->s_ud, &call);
	} else if (route == NULL && env.e_method == RS__METHOD__METHOD_METRICS) {
		rpc_builtin_metrics(s->s_ud, &call);
	} else if (route == NULL) {
		rs_rpc_fail(&call, RS__STATUS__STATUS_UNSUPPORTED, "method %d not served here",
		            (int) env.e_method);
		rs_metric_add(s->s_unknown, 1);
	} else if (call.deadline_unix_ms > 0 && rs_now_ms() >= call.deadline_unix_ms) {
		rs_rpc_fail(&call, RS__STATUS__STATUS_DEADLINE, "deadline passed before start");
	} else {
		route->fn(s->s_ud, &call);
	}
reply:
	if (call.status == RS__STATUS__STATUS_OK || call.resp != NULL) {
		reply.body.data = call.resp;
		reply.body.len = call.resp_len;
	}
	if (route != NULL) {
		rpc_route_stats *st = &s->s_stats[ri];
		int si = (int) call.status;
		if (si >= 0 && si < RPC_STATUS_COUNT)
			rs_metric_add(st->rs_count[si], 1);
		double ms = rs_mono_ms() - t0;
		rs_metric_observe(st->rs_latency, ms);
		if (call.status != RS__STATUS__STATUS_OK &&
		    call.status != RS__STATUS__STATUS_INVALID &&
		    call.status != RS__STATUS__STATUS_NOT_FOUND) {
			char q[300];
			rs_log_warn("rpc.request_failed", "method=%s status=%s err=\"%s\"",
			            route->name, rs_rpc_status_name(call.status),
			            rs_log_quote(q, sizeof(q), call.error));
		} else {
			/* the RPC access log (RS_LOG_LEVEL=debug) */
			rs_log_debug("rpc.request", "method=%s status=%s ms=%.3f", route->name,
			             rs_rpc_status_name(call.status), ms);
		}
	}
	rs_log_set_request(NULL);
	/* The envelope's other fields, then the body's tag and length: the body itself is sent
	 * from where the handler packed it, not copied into the envelope. */
	size_t elen = strlen(call.error);
	uint8_t *p = rs_arena_alloc(arena, 48 + elen);
	if (p == NULL)
		return RS_ENOMEM;
	size_t n = 0;
	p[n++] = (1 << 3) | RS_PBW_VARINT;
	n += rs_pbw_put_varint(p + n, RS_SCHEMA_VERSION);
	if (reply.method != 0) {
		p[n++] = (2 << 3) | RS_PBW_VARINT;
		n += rs_pbw_put_varint(p + n, (uint64_t) (int64_t) reply.method);
	}
	if (call.status != 0) {
		p[n++] = (4 << 3) | RS_PBW_VARINT;
		n += rs_pbw_put_varint(p + n, (uint64_t) (int64_t) call.status);
	}
	if (elen > 0) {
		p[n++] = (5 << 3) | RS_PBW_LEN;
		n += rs_pbw_put_varint(p + n, elen);
		memcpy(p + n, call.error, elen);
		n += elen;
	}
	*body = (const uint8_t *) "";
	*bodylen = 0;
	if (reply.body.len > 0) {
		p[n++] = (3 << 3) | RS_PBW_LEN;
		n += rs_pbw_put_varint(p + n, reply.body.len);
		*body = reply.body.data;
		*bodylen = reply.body.len;
	}
	*pre = p;
	*prelen = n;
	return 0;
}

int
rs_rpc_server_handle(rs_rpc_server *s, const uint8_t *msg, size_t len, rs_arena *arena,
                     uint8_t **pre, size_t *prelen, const uint8_t **body, size_t *bodylen)
{
	return rpc_dispatch(s, msg, len, arena, pre, prelen, body, bodylen);
}

static int
rpc_sp_dispatch(void *ud, rs_arena *arena, const uint8_t *req, size_t len, uint8_t **pre,
                size_t *prelen, const uint8_t **body, size_t *bodylen)
{
	return rpc_dispatch(ud, req, len, arena, pre, prelen, body, bodylen);
}

static void *
rpc_worker_main(void *arg)
{
	rpc_worker *w = arg;
	rs_rpc_server *s = w->w_srv;

	for (;;) {
		/* No timeout on the receive: an aio with a deadline goes on NNG's global expiry
		 * list and often wakes its timer thread, a context switch per request. Close
		 * cancels a waiting receive instead (under s_lock, so none is missed). */
		pthread_mutex_lock(&s->s_lock);
		if (atomic_load(&s->s_stop)) {
			pthread_mutex_unlock(&s->s_lock);
			break;
		}
		w->w_receiving = 1;
		nng_aio_set_timeout(w->w_aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->w_ctx, w->w_aio);
		pthread_mutex_unlock(&s->s_lock);
		nng_aio_wait(w->w_aio);
		pthread_mutex_lock(&s->s_lock);
		w->w_receiving = 0;
		pthread_mutex_unlock(&s->s_lock);
		int rv = nng_aio_result(w->w_aio);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			break;
		if (rv != 0) {
			rs_log_warn("rpc.recv_failed", "err=\"%s\"", nng_strerror(rv));
			continue;
		}
		nng_msg *msg = nng_aio_get_msg(w->w_aio);
		uint8_t *pre = NULL;
		const uint8_t *body = NULL;
		size_t prelen = 0, bodylen = 0;
		if (rpc_dispatch(s, nng_msg_body(msg), nng_msg_len(msg), w->w_arena, &pre, &prelen,
		                 &body, &bodylen) != 0) {
			nng_msg_free(msg);
			rs_arena_reset(w->w_arena);
			continue;
		}
		nng_msg_clear(msg);
		if (nng_msg_append(msg, pre, prelen) != 0 ||
		    (bodylen > 0 && nng_msg_append(msg, body, bodylen) != 0)) {
			nng_msg_free(msg);
			rs_arena_reset(w->w_arena);
			continue;
		}
		nng_aio_set_msg(w->w_aio, msg);
		nng_aio_set_timeout(w->w_aio, RPC_SEND_MS);
		nng_ctx_send(w->w_ctx, w->w_aio);
		nng_aio_wait(w->w_aio);
		if (nng_aio_result(w->w_aio) != 0)
			nng_msg_free(nng_aio_get_msg(w->w_aio));
		rs_arena_reset(w->w_arena);
	}
	return NULL;
}

int
rs_rpc_server_open(rs_rpc_server **out, const char *url, int workers, const rs_rpc_route *routes,
                   void *ud)
{
	rs_rpc_server_cfg cfg = {.workers = workers, .max_conns = 0};
	return rs_rpc_server_start(out, url, &cfg, routes, ud);
}

/* The server's own memory and locks, once its transport is closed. */
static void
rpc_server_free(rs_rpc_server *s)
{
	pthread_mutex_destroy(&s->s_lock);
	pthread_mutex_destroy(&s->s_pipe_mu);
	free(s->s_pipe_ids);
	free(s->s_stats);
	free(s->s_workers);
	free(s);
}

int
rs_rpc_server_start(rs_rpc_server **out, const char *url, const rs_rpc_server_cfg *cfg,
                    const rs_rpc_route *routes, void *ud)
{
	rs_rpc_server *s;
	int rv, workers = cfg->workers;
	int max_conns = cfg->max_conns > 0 ? cfg->max_conns : RS_RPC_MAX_CONNS_DEFAULT;

	if (workers < 1 || workers > 256 || cfg->max_conns < 0 || max_conns > 65536 || url == NULL)
		return RS_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&s->s_lock, NULL);
	pthread_mutex_init(&s->s_pipe_mu, NULL);
	s->s_routes = routes;
	s->s_ud = ud;
	while (routes[s->s_nroutes].fn != NULL)
		s->s_nroutes++;
	s->s_stats = calloc(s->s_nroutes ? s->s_nroutes : 1, sizeof(*s->s_stats));
	s->s_workers = calloc((size_t) workers, sizeof(*s->s_workers));
	if (s->s_stats == NULL || s->s_workers == NULL) {
		rv = RS_ENOMEM;
		goto fail_mem;
	}
	for (size_t i = 0; i < s->s_nroutes; i++) {
		char labels[128];
		for (int st = 0; st < RPC_STATUS_COUNT; st++) {
			snprintf(labels, sizeof(labels), "method=\"%s\",status=\"%s\"",
			         routes[i].name, rs_rpc_status_name((Rs__Status) st));
			s->s_stats[i].rs_count[st] = rs_metrics_counter(
			        "rs_rpc_requests_total",
			        "RPC requests handled, by method and status", labels);
		}
		snprintf(labels, sizeof(labels), "method=\"%s\"", routes[i].name);
		s->s_stats[i].rs_latency = rs_metrics_histogram(
		        "rs_rpc_duration_ms", "RPC handling time in milliseconds", labels);
	}
	s->s_unknown = rs_metrics_counter("rs_rpc_rejected_total",
	                                  "RPC messages rejected before dispatch", NULL);
	if (rpc_uses_sp(url)) {
		if ((rv = rpc_sp_server_open(&s->s_sp, url, workers, max_conns, rpc_sp_dispatch,
		                             s)) != 0)
			goto fail_mem;
		rpc_server_set_url(s, url, rpc_sp_server_port(s->s_sp));
		rs_log_info("rpc.listening", "url=%s transport=socket workers=%d max_conns=%d",
		            s->s_url, workers, max_conns);
		*out = s;
		return 0;
	}
	if ((rv = nng_rep0_open(&s->s_sock)) != 0) {
		rv = rs_err_from_nng(rv);
		goto fail_mem;
	}
	nng_socket_set_size(s->s_sock, NNG_OPT_RECVMAXSZ, RPC_MAX_MSG);
	/* the cap, as over plain sockets (there: back-pressure; here NNG accepts on its own, so an
	 * excess connection is closed at once) */
	char labels[320];
	snprintf(labels, sizeof(labels), "url=\"%.250s\"", url);
	atomic_init(&s->s_pipes, 0);
	s->s_max_conns = max_conns;
	if ((s->s_pipe_ids = malloc((size_t) max_conns * sizeof(*s->s_pipe_ids))) == NULL) {
		rv = RS_ENOMEM;
		nng_close(s->s_sock);
		goto fail_mem;
	}
	rpc_conn_metrics(labels, &s->s_m_conns, &s->s_m_full);
	if ((rv = nng_pipe_notify(s->s_sock, NNG_PIPE_EV_ADD_PRE, rpc_server_pipe_cb, s)) != 0 ||
	    (rv = nng_pipe_notify(s->s_sock, NNG_PIPE_EV_REM_POST, rpc_server_pipe_cb, s)) != 0) {
		rv = rs_err_from_nng(rv);
		nng_close(s->s_sock);
		goto fail_mem;
	}
	nng_listener l;
	if ((rv = nng_listen(s->s_sock, url, &l, 0)) != 0) {
		rs_log_error("rpc.listen_failed", "url=%s err=\"%s\"", url, nng_strerror(rv));
		rv = rs_err_from_nng(rv);
		nng_close(s->s_sock);
		goto fail_mem;
	}
	int port = 0;
	if (strncmp(url, "tcp", 3) == 0 &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		port = 0;
	rpc_server_set_url(s, url, port);
	rs_log_info("rpc.listening", "url=%s transport=nng workers=%d max_conns=%d", s->s_url,
	            workers, max_conns);
	s->s_nworkers = workers;
	for (int i = 0; i < workers; i++) {
		rpc_worker *w = &s->s_workers[i];
		w->w_srv = s;
		if (nng_ctx_open(&w->w_ctx, s->s_sock) != 0 ||
		    nng_aio_alloc(&w->w_aio, NULL, NULL) != 0 ||
		    rs_arena_create(&w->w_arena, 0) != 0 ||
		    pthread_create(&w->w_thread, NULL, rpc_worker_main, w) != 0) {
			rs_rpc_server_close(s);
			return RS_ENOMEM;
		}
		w->w_started = 1;
	}
	*out = s;
	return 0;
fail_mem:
	rpc_server_free(s);
	return rv;
}

void
rs_rpc_server_close(rs_rpc_server *s)
{
	if (s == NULL)
		return;
	if (s->s_sp != NULL) {
		rpc_sp_server_close(s->s_sp);
		rpc_server_free(s);
		return;
	}
	/* Workers check the flag between requests, so an in-flight one is answered first;
	 * a worker waiting for a request has its receive cancelled. */
	pthread_mutex_lock(&s->s_lock);
	atomic_store(&s->s_stop, 1);
	for (int i = 0; i < s->s_nworkers; i++)
		if (s->s_workers[i].w_receiving)
			nng_aio_cancel(s->s_workers[i].w_aio);
	pthread_mutex_unlock(&s->s_lock);
	for (int i = 0; i < s->s_nworkers; i++)
		if (s->s_workers[i].w_started)
			pthread_join(s->s_workers[i].w_thread, NULL);
	for (int i = 0; i < s->s_nworkers; i++) {
		rpc_worker *w = &s->s_workers[i];
		if (w->w_aio != NULL)
			nng_aio_free(w->w_aio);
		if (nng_ctx_id(w->w_ctx) > 0)
			nng_ctx_close(w->w_ctx);
		rs_arena_destroy(w->w_arena);
	}
	nng_close(s->s_sock); /* no pipe callback runs after it returns */
	rpc_server_free(s);
}

/* A context with its aio, reused across calls: opening and closing them per call costs
 * about as much as the round trip itself on a small machine. */
typedef struct rpc_slot {
	struct rpc_slot *s_next;
	nng_ctx s_ctx;
	nng_aio *s_aio;
} rpc_slot;

struct rs_rpc_client {
	nng_socket c_sock;
	atomic_int c_pipes;
	pthread_mutex_t c_lock;
	rpc_slot *c_free; /* idle slots, guarded by c_lock */
	char c_url[256];
	rpc_sp_client *c_sp; /* tcp:// and ipc://: plain sockets instead of NNG */
};

static rpc_slot *
rpc_slot_get(rs_rpc_client *c)
{
	rpc_slot *s;

	pthread_mutex_lock(&c->c_lock);
	s = c->c_free;
	if (s != NULL)
		c->c_free = s->s_next;
	pthread_mutex_unlock(&c->c_lock);
	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (nng_ctx_open(&s->s_ctx, c->c_sock) != 0) {
		free(s);
		return NULL;
	}
	if (nng_aio_alloc(&s->s_aio, NULL, NULL) != 0) {
		nng_ctx_close(s->s_ctx);
		free(s);
		return NULL;
	}
	return s;
}

static void
rpc_slot_free(rpc_slot *s)
{
	nng_aio_free(s->s_aio);
	nng_ctx_close(s->s_ctx);
	free(s);
}

/* A slot whose call timed out or failed may still have a request outstanding: closing its
 * context abandons that request, so such a slot is not reused. */
static void
rpc_slot_put(rs_rpc_client *c, rpc_slot *s, int reusable)
{
	if (!reusable) {
		rpc_slot_free(s);
		return;
	}
	pthread_mutex_lock(&c->c_lock);
	s->s_next = c->c_free;
	c->c_free = s;
	pthread_mutex_unlock(&c->c_lock);
}

static void
rpc_client_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rs_rpc_client *c = arg;
	(void) p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&c->c_pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&c->c_pipes, 1);
}

int
rs_rpc_client_open(rs_rpc_client **out, const char *url)
{
	rs_rpc_client *c;
	int rv;

	if (url == NULL || strlen(url) >= sizeof(c->c_url))
		return RS_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&c->c_lock, NULL);
	snprintf(c->c_url, sizeof(c->c_url), "%s", url);
	if (rpc_uses_sp(url)) {
		if ((rv = rpc_sp_client_open(&c->c_sp, url)) != 0) {
			rs_log_error("rpc.dial_failed", "url=%s err=\"%s\"", url, rs_strerror(rv));
			pthread_mutex_destroy(&c->c_lock);
			free(c);
			return rv;
		}
		*out = c;
		return 0;
	}
	if ((rv = nng_req0_open(&c->c_sock)) != 0) {
		free(c);
		return rs_err_from_nng(rv);
	}
	nng_pipe_notify(c->c_sock, NNG_PIPE_EV_ADD_POST, rpc_client_pipe_cb, c);
	nng_pipe_notify(c->c_sock, NNG_PIPE_EV_REM_POST, rpc_client_pipe_cb, c);
	nng_socket_set_ms(c->c_sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->c_sock, NNG_OPT_RECONNMAXT, 500);
	nng_socket_set_size(c->c_sock, NNG_OPT_RECVMAXSZ, RPC_MAX_MSG);
	/* Every call has its own timeout, far below req's default 60 s resend; no resends. */
	nng_socket_set_ms(c->c_sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((rv = nng_dial(c->c_sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		rs_log_error("rpc.dial_failed", "url=%s err=\"%s\"", url, nng_strerror(rv));
		nng_close(c->c_sock);
		free(c);
		return rs_err_from_nng(rv);
	}
	*out = c;
	return 0;
}

void
rs_rpc_client_close(rs_rpc_client *c)
{
	if (c == NULL)
		return;
	if (c->c_sp != NULL) {
		rpc_sp_client_close(c->c_sp);
		pthread_mutex_destroy(&c->c_lock);
		free(c);
		return;
	}
	nng_close(c->c_sock);
	while (c->c_free != NULL) {
		rpc_slot *s = c->c_free;
		c->c_free = s->s_next;
		rpc_slot_free(s);
	}
	pthread_mutex_destroy(&c->c_lock);
	free(c);
}

int
rs_rpc_client_connected(const rs_rpc_client *c)
{
	if (c->c_sp != NULL)
		return rpc_sp_client_connected(c->c_sp);
	return atomic_load(&((rs_rpc_client *) c)->c_pipes);
}

const char *
rs_rpc_client_url(const rs_rpc_client *c)
{
	return c->c_url;
}

/* Sends one envelope (prefix bytes + body) and returns the reply's body as arena memory. */
static int
rpc_call_nng(rs_rpc_client *c, const uint8_t *pre, size_t plen, const struct iovec *body, int nbody,
             size_t blen, int timeout_ms, rs_arena *arena, uint8_t **reply, size_t *rlen)
{
	rpc_slot *slot;
	nng_msg *msg = NULL;
	int rv;

	if (atomic_load(&c->c_pipes) <= 0)
		return RS_EUNAVAIL;
	if ((rv = nng_msg_alloc(&msg, plen + blen)) != 0)
		return rs_err_from_nng(rv);
	uint8_t *m = nng_msg_body(msg);
	memcpy(m, pre, plen);
	m += plen;
	for (int i = 0; i < nbody; i++) {
		if (body[i].iov_len > 0)
			memcpy(m, body[i].iov_base, body[i].iov_len);
		m += body[i].iov_len;
	}
	if ((slot = rpc_slot_get(c)) == NULL) {
		nng_msg_free(msg);
		return RS_ENOMEM;
	}
	nng_aio_set_timeout(slot->s_aio, timeout_ms);
	nng_aio_set_msg(slot->s_aio, msg);
	nng_ctx_send(slot->s_ctx, slot->s_aio);
	nng_aio_wait(slot->s_aio);
	if ((rv = nng_aio_result(slot->s_aio)) != 0) {
		nng_msg_free(msg);
		rv = rv == NNG_ETIMEDOUT ? RS_ETIMEDOUT : rs_err_from_nng(rv);
		goto out;
	}
	nng_ctx_recv(slot->s_ctx, slot->s_aio);
	nng_aio_wait(slot->s_aio);
	if ((rv = nng_aio_result(slot->s_aio)) != 0) {
		rv = rv == NNG_ETIMEDOUT ? RS_ETIMEDOUT : rs_err_from_nng(rv);
		goto out;
	}
	msg = nng_aio_get_msg(slot->s_aio);
	*rlen = nng_msg_len(msg);
	*reply = rs_arena_alloc(arena, *rlen ? *rlen : 1);
	if (*reply == NULL)
		rv = RS_ENOMEM;
	else
		memcpy(*reply, nng_msg_body(msg), *rlen);
	nng_msg_free(msg);
out:
	rpc_slot_put(c, slot, rv == 0 || rv == RS_ENOMEM);
	return rv;
}

/* The checks before a call: err emptied; RS_EUNAVAIL while the server is down, RS_ETIMEDOUT
 * for a deadline already passed, else 0. */
static int
rpc_request_ready(rs_rpc_client *c, int timeout_ms, char *err, size_t errn)
{
	if (err != NULL && errn > 0)
		err[0] = '\0';
	if (rs_rpc_client_connected(c) <= 0)
		return RS_EUNAVAIL;
	return timeout_ms <= 0 ? RS_ETIMEDOUT : 0;
}

int
rs_rpc_request_iov(rs_rpc_client *c, Rs__Method method, const struct iovec *body, int nbody,
                   int timeout_ms, rs_arena *arena, const uint8_t **resp, size_t *resp_len,
                   Rs__Status *status, char *err, size_t errn)
{
	uint8_t pre[RS_ENV_PREFIX_MAX], *reply = NULL;
	size_t plen, rlen = 0, len = 0;
	rs_env re;
	int rv;

	if (nbody < 0 || nbody > RS_RPC_BODY_MAX)
		return RS_EINVAL;
	if ((rv = rpc_request_ready(c, timeout_ms, err, errn)) != 0)
		return rv;
	for (int i = 0; i < nbody; i++)
		len += body[i].iov_len;
	plen = rs_env_prefix(pre, method, len);
	if (c->c_sp != NULL)
		rv = rpc_sp_call(c->c_sp, pre, plen, body, nbody, timeout_ms, arena, &reply, &rlen);
	else
		rv = rpc_call_nng(c, pre, plen, body, nbody, len, timeout_ms, arena, &reply, &rlen);
	if (rv != 0)
		return rv;
	if (rs_env_parse(reply, rlen, &re) != 0)
		return RS_EPROTO;
	*status = (Rs__Status) re.e_status;
	if (err != NULL && errn > 0)
		snprintf(err, errn, "%.*s", (int) (re.e_error_len < errn ? re.e_error_len : errn),
		         re.e_error);
	*resp = re.e_body;
	*resp_len = re.e_body_len;
	return 0;
}

int
rs_rpc_request_packed(rs_rpc_client *c, Rs__Method method, const uint8_t *body, size_t len,
                      int timeout_ms, rs_arena *arena, const uint8_t **resp, size_t *resp_len,
                      Rs__Status *status, char *err, size_t errn)
{
	struct iovec iov = {(void *) body, len};
	return rs_rpc_request_iov(c, method, &iov, len > 0 ? 1 : 0, timeout_ms, arena, resp,
	                          resp_len, status, err, errn);
}

int
rs_rpc_request(rs_rpc_client *c, Rs__Method method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, rs_arena *arena,
               void **resp, Rs__Status *status, char *err, size_t errn)
{
	const uint8_t *rb = NULL;
	size_t rl = 0;
	int rv;

	if ((rv = rpc_request_ready(c, timeout_ms, err, errn)) != 0)
		return rv;
	size_t blen = protobuf_c_message_get_packed_size(req);
	uint8_t *body = rs_arena_alloc(arena, blen ? blen : 1);
	if (body == NULL)
		return RS_ENOMEM;
	blen = protobuf_c_message_pack(req, body);
	rv = rs_rpc_request_packed(c, method, body, blen, timeout_ms, arena, &rb, &rl, status, err,
	                           errn);
	if (rv != 0)
		return rv;
	*resp = NULL;
	if (resp_desc != NULL && (*status == RS__STATUS__STATUS_OK || rl > 0)) {
		*resp = protobuf_c_message_unpack(resp_desc, rs_arena_pb(arena), rl, rb);
		if (*resp == NULL && *status == RS__STATUS__STATUS_OK)
			return RS_EPROTO;
	}
	return 0;
}
