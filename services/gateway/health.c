#include "health.h"
#include "metrics.h"
#include "render.h"

#include "common.pb-c.h"
#include "rs_err.h"
#include "rs_metrics.h"
#include "rs_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_job {
	rs_rpc_client *j_client;
	Rs__Method j_method;
	int j_timeout_ms;
	const char *j_request_id;
	gw_probe *j_out;
} probe_job;

static void
probe_run(probe_job *j)
{
	gw_probe *o = j->j_out;
	rs_arena *a = NULL;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__HealthRequest hreq = RS__HEALTH_REQUEST__INIT;
	Rs__MetricsRequest mreq = RS__METRICS_REQUEST__INIT;
	void *resp = NULL;
	Rs__Status st = RS__STATUS__STATUS_OK;
	char err[160];
	int is_health = j->j_method == RS__METHOD__METHOD_HEALTH;
	double t0 = rs_mono_ms();

	memset(o, 0, sizeof(*o));
	o->p_state = "error";
	if (rs_arena_create(&a, 8 * 1024) != 0) {
		snprintf(o->p_detail, sizeof(o->p_detail), "out of memory");
		return;
	}
	h.request_id = (char *) j->j_request_id;
	h.deadline_unix_ms = rs_now_ms() + j->j_timeout_ms;
	hreq.header = &h;
	mreq.header = &h;
	int rv = rs_rpc_request(j->j_client, j->j_method, is_health ? &hreq.base : &mreq.base,
	                        is_health ? &rs__health_response__descriptor
	                                  : &rs__metrics_response__descriptor,
	                        j->j_timeout_ms, a, &resp, &st, err, sizeof(err));
	o->p_ms = rs_mono_ms() - t0;
	if (rv == RS_EUNAVAIL) {
		o->p_state = "unavailable";
		snprintf(o->p_detail, sizeof(o->p_detail), "not connected");
	} else if (rv == RS_ETIMEDOUT) {
		o->p_state = "timeout";
		snprintf(o->p_detail, sizeof(o->p_detail), "no answer in %d ms", j->j_timeout_ms);
	} else if (rv != 0) {
		snprintf(o->p_detail, sizeof(o->p_detail), "%s", rs_strerror(rv));
	} else if (st != RS__STATUS__STATUS_OK || resp == NULL) {
		snprintf(o->p_detail, sizeof(o->p_detail), "%s: %s", rs_rpc_status_name(st), err);
	} else if (is_health) {
		Rs__HealthResponse *hr = resp;
		o->p_ok = 1;
		o->p_ready = hr->ready;
		o->p_state = hr->ready ? "ready" : "not_ready";
		snprintf(o->p_detail, sizeof(o->p_detail), "%s",
		         hr->detail != NULL ? hr->detail : "");
		if (hr->header != NULL && hr->header->model_version != NULL)
			snprintf(o->p_model_version, sizeof(o->p_model_version), "%s",
			         hr->header->model_version);
	} else {
		Rs__MetricsResponse *mr = resp;
		o->p_ok = 1;
		o->p_state = "ready";
		o->p_text = strdup(mr->text != NULL ? mr->text : "");
	}
	rs_arena_destroy(a);
}

static void *
probe_thread(void *arg)
{
	probe_run(arg);
	return NULL;
}

void
gw_probe_all(gw_server *srv, Rs__Method method, int timeout_ms, const char *request_id,
             gw_probe out[GW_NDOWN])
{
	probe_job jobs[GW_NDOWN];
	pthread_t th[GW_NDOWN];
	int started[GW_NDOWN] = {0};

	for (int i = 0; i < GW_NDOWN; i++) {
		jobs[i] = (probe_job){srv->s_clients[i], method, timeout_ms, request_id, &out[i]};
		/* A downstream that is not connected answers at once: no thread needed. */
		if (rs_rpc_client_connected(srv->s_clients[i]) > 0 &&
		    pthread_create(&th[i], NULL, probe_thread, &jobs[i]) == 0)
			started[i] = 1;
		else
			probe_run(&jobs[i]);
	}
	for (int i = 0; i < GW_NDOWN; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

void
gw_handle_healthz(gw_server *srv, gw_req *req)
{
	(void) srv;
	gw_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void
gw_handle_readyz(gw_server *srv, gw_req *req)
{
	gw_probe probes[GW_NDOWN];
	int all = 1;
	json_t *ds = json_object();

	gw_probe_all(srv, RS__METHOD__METHOD_HEALTH, srv->s_cfg.health_timeout_ms,
	             req->r_request_id, probes);
	for (int i = 0; i < GW_NDOWN; i++) {
		gw_probe *p = &probes[i];
		all = all && p->p_ok && p->p_ready;
		json_t *o = json_pack("{s:b,s:s,s:o,s:s}", "ready", p->p_ok && p->p_ready, "state",
		                      p->p_state, "ms", gw_json_ms(p->p_ms), "url",
		                      rs_rpc_client_url(srv->s_clients[i]));
		if (o != NULL && p->p_detail[0] != '\0')
			json_object_set_new(o, "detail", gw_json_str(p->p_detail));
		if (o != NULL && p->p_model_version[0] != '\0')
			json_object_set_new(o, "model_version", gw_json_str(p->p_model_version));
		json_object_set_new(ds, gw_downstream_names[i], o);
	}
	json_t *body =
	        json_pack("{s:s,s:o}", "status", all ? "ready" : "not_ready", "downstreams", ds);
	gw_reply_json(req, all ? 200 : 503, body);
}

void
gw_handle_metrics(gw_server *srv, gw_req *req)
{
	gw_probe probes[GW_NDOWN];
	const char *parts[GW_NDOWN + 1];
	const char *svcs[GW_NDOWN + 1];

	char *own = rs_metrics_render(NULL);
	gw_probe_all(srv, RS__METHOD__METHOD_METRICS, srv->s_cfg.health_timeout_ms,
	             req->r_request_id, probes);
	parts[0] = own;
	svcs[0] = "gateway";
	for (int i = 0; i < GW_NDOWN; i++) {
		parts[i + 1] = probes[i].p_text;
		svcs[i + 1] = gw_downstream_names[i];
	}
	char *text = own != NULL ? gw_metrics_merge(parts, svcs, GW_NDOWN + 1) : NULL;
	free(own);
	for (int i = 0; i < GW_NDOWN; i++)
		free(probes[i].p_text);
	if (text == NULL) {
		gw_reply_error(req, 500, "internal", "out of memory rendering metrics");
		return;
	}
	gw_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
}
