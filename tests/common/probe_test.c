#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "rs_err.h"
#include "rs_probe.h"
#include "rs_rpc.h"
#include "rs_time.h"

/* A service that is up but not ready: HEALTH answers ready=false with a detail. */
static void
t_not_ready(void *ud, rs_rpc_call *call)
{
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	rs_rpc_header_init(call, &h, "t", "v1");
	resp.header = &h;
	resp.ready = 0;
	resp.detail = "pg=down";
	rs_rpc_reply(call, &resp.base);
}

static const rs_rpc_route not_ready_routes[] = {
        {RS__METHOD__METHOD_HEALTH, "health", t_not_ready},
        {0, NULL, NULL},
};
/* No HEALTH route: rs_rpc's built-in answer (ready) is what a plain service gives. */
static const rs_rpc_route no_routes[] = {{0, NULL, NULL}};

static void
ipc_url(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "ipc:///tmp/rs-probe-test-%d-%s.sock", (int) getpid(), tag);
}

Test(probe, ready_service_over_the_real_transport)
{
	rs_rpc_server *s;
	char url[128], detail[256];
	ipc_url(url, sizeof(url), "ready");
	cr_assert_eq(rs_rpc_server_open(&s, url, 1, no_routes, NULL), 0);
	cr_expect_eq(rs_probe_health(url, 2000, detail, sizeof(detail)), 1, "detail=%s", detail);
	rs_rpc_server_close(s);
}

Test(probe, not_ready_service_is_not_ready_and_its_detail_is_kept)
{
	rs_rpc_server *s;
	char url[128], detail[256];
	ipc_url(url, sizeof(url), "notready");
	cr_assert_eq(rs_rpc_server_open(&s, url, 1, not_ready_routes, NULL), 0);
	cr_expect_eq(rs_probe_health(url, 2000, detail, sizeof(detail)), 0);
	cr_expect_str_eq(detail, "pg=down");
	rs_rpc_server_close(s);
}

Test(probe, nothing_listening_is_unavailable_within_the_timeout)
{
	char url[128], detail[256];
	ipc_url(url, sizeof(url), "nobody");
	double t0 = rs_mono_ms();
	cr_expect_eq(rs_probe_health(url, 200, detail, sizeof(detail)), RS_EUNAVAIL);
	cr_expect_lt(rs_mono_ms() - t0, 2000.0, "the probe must give up near its timeout");
	cr_expect_neq(strstr(detail, "no connection"), NULL, "detail=%s", detail);
}

Test(probe, bad_arguments)
{
	char detail[64];
	cr_expect_eq(rs_probe_health(NULL, 100, detail, sizeof(detail)), RS_EINVAL);
	cr_expect_eq(rs_probe_health("ipc:///tmp/x", 0, detail, sizeof(detail)), RS_EINVAL);
	cr_expect_lt(rs_probe_health("nosuchscheme://x", 100, detail, sizeof(detail)), 0);
}
