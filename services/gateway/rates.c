#include "rates.h"
#include "ratelimit.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const limits_class_names[GW_RATE_NCLASS] = {"read", "write", "login", "admin",
                                                               "ops"};

struct gw_limits {
	gw_ratelimit *l_class[GW_RATE_NCLASS]; /* per address or account; NULL = off */
	gw_ratelimit *l_keys;                  /* per API key (and the admin token); NULL = off */
};

int
gw_limits_parse(const char *spec, int *rate, int64_t *per_ms, int *burst)
{
	char *end;
	if (strcmp(spec, "off") == 0) {
		*rate = 0;
		*per_ms = 1000;
		*burst = 0;
		return 0;
	}
	errno = 0;
	long n = strtol(spec, &end, 10);
	if (errno != 0 || end == spec || n < 1 || n > 10000000 || end[0] != '/')
		return -1;
	if (end[1] == 's')
		*per_ms = 1000;
	else if (end[1] == 'm')
		*per_ms = 60 * 1000;
	else
		return -1;
	*rate = (int) n;
	end += 2;
	if (*end == '\0') {
		long b = *per_ms == 1000 ? 2 * n : 2 * n / 60;
		*burst = b < 1 ? 1 : (int) b;
		return 0;
	}
	if (*end != ':')
		return -1;
	const char *bs = end + 1;
	long b = strtol(bs, &end, 10);
	if (errno != 0 || end == bs || *end != '\0' || b < 1 || b > 100000000)
		return -1;
	*burst = (int) b;
	return 0;
}

/* One table for spec (NULL = off). 0 or an error, logged under var. */
static int
limits_table(gw_ratelimit **out, const char *var, const char *spec)
{
	int rate, burst;
	int64_t per_ms;
	*out = NULL;
	if (gw_limits_parse(spec, &rate, &per_ms, &burst) != 0) {
		rs_log_error("gw.limits_config",
		             "err=\"%s=%s: want N/s or N/m, optionally :BURST, or off\"", var,
		             spec);
		return RS_EINVAL;
	}
	if (rate == 0)
		return 0;
	return gw_ratelimit_create_bucket(out, GW_RATE_TRACKED, rate, per_ms, burst);
}

int
gw_limits_open(gw_limits **out, const gw_config *cfg)
{
	const char *vars[GW_RATE_NCLASS] = {"RS_GATEWAY_RATE_READ", "RS_GATEWAY_RATE_WRITE",
	                                    "RS_GATEWAY_RATE_LOGIN", "RS_GATEWAY_RATE_ADMIN",
	                                    "RS_GATEWAY_RATE_OPS"};
	const char *specs[GW_RATE_NCLASS] = {cfg->rate_read, cfg->rate_write, cfg->rate_login,
	                                     cfg->rate_admin, cfg->rate_ops};
	const char *defaults[GW_RATE_NCLASS] = {GW_RATE_READ_DEFAULT, GW_RATE_WRITE_DEFAULT,
	                                        GW_RATE_LOGIN_DEFAULT, GW_RATE_ADMIN_DEFAULT,
	                                        GW_RATE_OPS_DEFAULT};
	gw_limits *l = calloc(1, sizeof(*l));
	int rv = 0;
	if (l == NULL)
		return RS_ENOMEM;
	for (int i = 0; i < GW_RATE_NCLASS && rv == 0; i++)
		rv = limits_table(&l->l_class[i], vars[i],
		                  specs[i] != NULL ? specs[i] : defaults[i]);
	if (rv == 0)
		rv = limits_table(&l->l_keys, "RS_GATEWAY_RATE_APIKEY",
		                  cfg->rate_apikey != NULL ? cfg->rate_apikey
		                                           : GW_RATE_APIKEY_DEFAULT);
	if (rv != 0) {
		gw_limits_close(l);
		return rv;
	}
	*out = l;
	return 0;
}

void
gw_limits_close(gw_limits *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < GW_RATE_NCLASS; i++)
		gw_ratelimit_destroy(l->l_class[i]);
	gw_ratelimit_destroy(l->l_keys);
	free(l);
}

int
gw_limits_admit(gw_limits *l, gw_req *req, gw_rate_class cls)
{
	const gw_principal *who = &req->r_who;
	gw_ratelimit *rl;
	char key[96], addr[64];
	const char *by;

	if (l == NULL)
		return 0;
	if (who->p_role == GW_ROLE_API_KEY || (who->p_role == GW_ROLE_ADMIN && !who->p_session)) {
		rl = l->l_keys;
		by = "API key";
		snprintf(key, sizeof(key), "k:%s", who->p_name); /* "key:<name>", "admin-token" */
	} else if (who->p_session) {
		rl = l->l_class[cls];
		by = "account";
		snprintf(key, sizeof(key), "u:%lld", (long long) who->p_user_id);
	} else {
		rl = l->l_class[cls];
		by = "client address";
		if (gw_req_client(req, addr, sizeof(addr)) != 0)
			snprintf(addr, sizeof(addr), "unknown");
		snprintf(key, sizeof(key), "a:%s", addr);
	}
	if (rl == NULL)
		return 0;
	int wait = gw_ratelimit_take(rl, key, rs_now_ms());
	if (wait == 0)
		return 0;
	char wait_s[16];
	snprintf(wait_s, sizeof(wait_s), "%d", wait);
	gw_reply_header(req, "Retry-After", wait_s);
	gw_reply_error(req, 429, "rate_limited",
	               "too many %s requests from this %s: try again in %d s",
	               limits_class_names[cls], by, wait);
	if (rs_log_enabled(RS_LOG_DEBUG))
		rs_log_debug("gw.rate_limited", "req=%s class=%s by=\"%s\" retry_after_s=%d",
		             req->r_request_id, limits_class_names[cls], by, wait);
	return -1;
}
