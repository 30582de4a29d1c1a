#include "rs_probe.h"

#include <stdio.h>
#include <time.h>

#include "common.pb-c.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_proc.h"
#include "rs_rpc.h"
#include "rs_time.h"

int
rs_probe_health(const char *url, int timeout_ms, char *detail, size_t detailn)
{
	rs_rpc_client *c = NULL;
	rs_arena *a = NULL;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__HealthResponse *resp = NULL;
	Rs__Status st = RS__STATUS__STATUS_OK;
	char err[160] = "", rid[17];
	double end = rs_mono_ms() + timeout_ms;
	int rv;

	if (url == NULL || timeout_ms <= 0)
		return RS_EINVAL;
	if (detail != NULL && detailn > 0)
		detail[0] = '\0';
	if ((rv = rs_rpc_client_open(&c, url)) != 0)
		goto out;
	/* The client dials in the background; a request before the connection is up fails fast. */
	while (rs_rpc_client_connected(c) == 0 && rs_mono_ms() < end)
		rs_sleep_ms(5);
	if (rs_rpc_client_connected(c) == 0) {
		rv = RS_EUNAVAIL;
		snprintf(err, sizeof(err), "no connection to %s within %d ms", url, timeout_ms);
		goto out;
	}
	if ((rv = rs_arena_create(&a, 0)) != 0)
		goto out;
	rs_proc_random_id(rid, sizeof(rid));
	h.request_id = rid;
	int left = (int) (end - rs_mono_ms());
	left = left < 1 ? 1 : left;
	h.deadline_unix_ms = rs_now_ms() + left;
	req.header = &h;
	rv = rs_rpc_request(c, RS__METHOD__METHOD_HEALTH, &req.base,
	                    &rs__health_response__descriptor, left, a, (void **) &resp, &st, err,
	                    sizeof(err));
	if (rv == 0 && st != RS__STATUS__STATUS_OK) {
		rv = RS_EPROTO;
		snprintf(err, sizeof(err), "health answered status %s", rs_rpc_status_name(st));
	} else if (rv == 0) {
		rv = resp->ready ? 1 : 0;
		snprintf(err, sizeof(err), "%s", resp->detail != NULL ? resp->detail : "");
	}
out:
	if (detail != NULL && detailn > 0)
		snprintf(detail, detailn, "%s", err[0] != '\0' || rv >= 0 ? err : rs_strerror(rv));
	rs_arena_destroy(a);
	rs_rpc_client_close(c);
	return rv;
}
