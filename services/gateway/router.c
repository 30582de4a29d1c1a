#include "router.h"
#include "account.h"
#include "admin.h"
#include "catalog.h"
#include "datareport.h"
#include "events.h"
#include "experiments.h"
#include "health.h"
#include "history.h"
#include "impressions.h"
#include "recommend.h"
#include "static.h"

#include <stdio.h>
#include <string.h>

const gw_route gw_routes[] = {
        {"GET", "/v1/users/{id}/recommendations", "recommendations", GW_ACCESS_USER,
         gw_handle_recommend, GW_RATE_READ},
        {"GET", "/v1/users/{id}/history", "history", GW_ACCESS_USER, gw_handle_history,
         GW_RATE_READ},
        {"GET", "/v1/items/{id}/similar", "similar", GW_ACCESS_PUBLIC, gw_handle_similar,
         GW_RATE_READ},
        {"GET", "/v1/items/{id}/bought-together", "bought_together", GW_ACCESS_PUBLIC,
         gw_handle_bought_together, GW_RATE_READ},
        {"GET", "/v1/popular", "popular", GW_ACCESS_PUBLIC, gw_handle_popular, GW_RATE_READ},
        {"GET", "/v1/items", "items", GW_ACCESS_PUBLIC, gw_handle_items_list, GW_RATE_READ},
        {"POST", "/v1/items", "items_upsert", GW_ACCESS_WRITER, gw_handle_items_post,
         GW_RATE_WRITE},
        {"GET", "/v1/items/{id}", "item", GW_ACCESS_PUBLIC, gw_handle_item_get, GW_RATE_READ},
        {"PUT", "/v1/items/{id}", "item_put", GW_ACCESS_WRITER, gw_handle_item_put, GW_RATE_WRITE},
        {"DELETE", "/v1/items/{id}", "item_withdraw", GW_ACCESS_WRITER, gw_handle_item_delete,
         GW_RATE_WRITE},
        {"GET", "/v1/categories", "categories", GW_ACCESS_PUBLIC, gw_handle_categories,
         GW_RATE_READ},
        {"POST", "/v1/impressions", "impressions", GW_ACCESS_EVENTS, gw_handle_impressions,
         GW_RATE_WRITE},
        {"POST", "/v1/events", "events", GW_ACCESS_EVENTS, gw_handle_events, GW_RATE_WRITE},
        {"POST", "/v1/auth/login", "auth_login", GW_ACCESS_PUBLIC, gw_handle_login, GW_RATE_LOGIN},
        {"POST", "/v1/auth/logout", "auth_logout", GW_ACCESS_PUBLIC, gw_handle_logout,
         GW_RATE_LOGIN},
        {"GET", "/v1/me", "me", GW_ACCESS_SESSION, gw_handle_me, GW_RATE_READ},
        {"GET", "/healthz", "healthz", GW_ACCESS_PUBLIC, gw_handle_healthz, GW_RATE_OPS},
        {"GET", "/readyz", "readyz", GW_ACCESS_PUBLIC, gw_handle_readyz, GW_RATE_OPS},
        {"GET", "/metrics", "metrics", GW_ACCESS_PUBLIC, gw_handle_metrics, GW_RATE_OPS},
        {"GET", "/v1/admin/models", "admin_models", GW_ACCESS_ADMIN, gw_handle_admin_models,
         GW_RATE_ADMIN},
        {"POST", "/v1/admin/models/{version}/activate", "admin_activate", GW_ACCESS_ADMIN,
         gw_handle_admin_activate, GW_RATE_ADMIN},
        {"GET", "/v1/admin/data/report", "admin_data_report", GW_ACCESS_ADMIN,
         gw_handle_admin_data_report, GW_RATE_ADMIN},
        {"GET", "/v1/admin/experiments", "admin_experiments", GW_ACCESS_ADMIN, gw_handle_exp_list,
         GW_RATE_ADMIN},
        {"POST", "/v1/admin/experiments", "admin_experiment_create", GW_ACCESS_ADMIN,
         gw_handle_exp_create, GW_RATE_ADMIN},
        {"GET", "/v1/admin/experiments/{id}", "admin_experiment", GW_ACCESS_ADMIN,
         gw_handle_exp_get, GW_RATE_ADMIN},
        {"POST", "/v1/admin/experiments/{id}/start", "admin_experiment_start", GW_ACCESS_ADMIN,
         gw_handle_exp_start, GW_RATE_ADMIN},
        {"POST", "/v1/admin/experiments/{id}/stop", "admin_experiment_stop", GW_ACCESS_ADMIN,
         gw_handle_exp_stop, GW_RATE_ADMIN},
        {"GET", "/v1/admin/experiments/{id}/report", "admin_experiment_report", GW_ACCESS_ADMIN,
         gw_handle_exp_report, GW_RATE_ADMIN},
        {NULL, NULL, NULL, GW_ACCESS_PUBLIC, NULL, GW_RATE_READ},
};

size_t
gw_route_names(const char **out, size_t max)
{
	size_t n = 0;
	for (const gw_route *rt = gw_routes; rt->method != NULL && n < max; rt++) {
		size_t i = 0;
		while (i < n && strcmp(out[i], rt->name) != 0)
			i++;
		if (i == n)
			out[n++] = rt->name;
	}
	if (n < max)
		out[n++] = "static";
	if (n < max)
		out[n++] = "not_found";
	return n;
}

int
gw_route_match(const char *pattern, const char *path, gw_req *req, int capture)
{
	const char *p = pattern, *s = path;
	int np = 0;

	while (*p != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *se = strchr(s, '/');
			if (pe == NULL)
				return 0;
			if (se == NULL)
				se = s + strlen(s);
			if (se == s || np >= GW_MAX_PARAMS)
				return 0;
			if (capture) {
				size_t n = (size_t) (se - s);
				char *v = rs_arena_alloc(req->r_arena, n + 1);
				if (v == NULL)
					return 0;
				/* matched encoded (an encoded '/' is no boundary), captured decoded
				 */
				if (gw_req_segment(s, n, v) != 0)
					return 0;
				req->r_params[np] = v;
			}
			np++;
			p = pe + 1;
			s = se;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	if (*s != '\0')
		return 0;
	if (capture)
		req->r_nparams = np;
	return 1;
}

void
gw_route_dispatch(gw_server *srv, gw_req *req)
{
	const char *method = strcmp(req->r_method, "HEAD") == 0 ? "GET" : req->r_method;
	size_t alen = 0;

	req->r_allow[0] = '\0';
	gw_auth_resolve(srv, req);
	for (const gw_route *rt = gw_routes; rt->method != NULL; rt++) {
		if (!gw_route_match(rt->pattern, req->r_path, req, 0))
			continue;
		if (strcmp(rt->method, method) == 0) {
			gw_route_match(rt->pattern, req->r_path, req, 1);
			req->r_route = rt->name;
			/* charged before access is decided: a client guessing keys pays too */
			if (gw_limits_admit(srv->s_limits, req, rt->rate) == 0 &&
			    gw_auth_allow(srv, req, rt->access) == 0)
				rt->fn(srv, req);
			req->r_allow[0] = '\0';
			return;
		}
		req->r_route = rt->name;
		const char *m = strcmp(rt->method, "GET") == 0 ? "GET, HEAD" : rt->method;
		alen += (size_t) snprintf(req->r_allow + alen, sizeof(req->r_allow) - alen, "%s%s",
		                          alen > 0 ? ", " : "", m);
		if (alen >= sizeof(req->r_allow))
			alen = sizeof(req->r_allow) - 1;
	}
	/* no route of this method: a 405, the UI's files or a 404, each counted as a read */
	if (gw_limits_admit(srv->s_limits, req, GW_RATE_READ) != 0) {
		req->r_allow[0] = '\0'; /* a 405's route name stays for the metrics */
		return;
	}
	if (req->r_allow[0] != '\0') {
		gw_reply_error(req, 405, "method_not_allowed", "%s is not allowed here; use %s",
		               req->r_method, req->r_allow);
		return;
	}
	if (srv->s_static != NULL && gw_static_claims(req)) {
		req->r_route = "static";
		gw_static_serve(srv->s_static, req);
		return;
	}
	req->r_route = "not_found";
	gw_reply_error(req, 404, "not_found", "no route for %s %s", req->r_method, req->r_path);
}
