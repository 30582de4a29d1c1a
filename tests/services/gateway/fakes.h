/* Fake downstreams (feature, candidate, ranking, ingest) as rs_rpc servers on the production
 * transport (tcp), a gateway started on an ephemeral 127.0.0.1 port, and a libcurl helper. */
#ifndef GW_TEST_FAKES_H
#define GW_TEST_FAKES_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_servers.h"
#include "gateway.h"

enum { T_INGEST = 1, T_FEATURE = 2, T_CANDIDATE = 4, T_RANKING = 8, T_ALL = 15 };

/* Credentials of the test gateway: RS_ADMIN_TOKEN, RS_SESSION_KEY (hex) and one API key that
 * t_start installs in the gateway's key set (there is no database in these tests). */
#define T_ADMIN_TOKEN "t-admin-token-0123456789abcdef"
#define T_SESSION_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define T_API_KEY     "rsk_test-api-key-0123456789abcdef"

/* The credential header every t_http / t_get_fresh request carries unless its extra header is
 * itself an Authorization or Cookie header: the API key (t_start sets it; NULL = none). */
extern const char *t_cred;
#define T_CRED_API_KEY "Authorization: Bearer " T_API_KEY
#define T_CRED_ADMIN   "Authorization: Bearer " T_ADMIN_TOKEN

/* t_start: start the fakes in mask and a gateway on 127.0.0.1:0 dialling all four, wait
 * until the started fakes are connected. deadline_ms 250, max body 4096. */
void t_start(int mask);

/* t_tune: when set, t_start passes the gateway's configuration through it before opening the
 * gateway (a test's own limits); t_stop clears it. */
extern void (*t_tune)(gw_config *cfg);

/* t_session_cookie: "Cookie: rs_session=<token>" for a session of user_id (admin: role admin)
 * signed with the gateway's key, ending expires_ms (unix ms), into buf. */
void t_session_cookie(int64_t user_id, int admin, int64_t expires_ms, char *buf, size_t n);

/* t_stop_fake: close one fake (T_RANKING...) and wait until the gateway sees it gone. */
void t_stop_fake(int which);

/* t_close_gateway: gw_server_close now (it waits for requests in flight); t_stop then closes
 * only the fakes. */
void t_close_gateway(void);

/* t_stop: close the gateway and the remaining fakes. */
void t_stop(void);

gw_server *t_gateway(void);

typedef struct t_resp {
	long status;
	char *body;
	size_t len;
	char ctype[128];
	char request_id[96];
	char allow[96];
	char www_authenticate[160];
	char set_cookie[256];
	char retry_after[16];
	char nosniff[32], csp[96],
	        frame_options[16]; /* X-Content-Type-Options, CSP, X-Frame-Options */
	double ms;
	long connects; /* new connections opened by this transfer */
	json_t *json;  /* parsed body or NULL */
} t_resp;

/* t_http: one request on a shared keep-alive curl handle; body may be NULL; extra_header
 * ("Name: value") may be NULL. Asserts the transfer worked. */
void t_http(const char *method, const char *path, const char *body, const char *extra_header,
            t_resp *out);
void t_resp_free(t_resp *r);

/* t_get_fresh: GET base_url + path on a new connection of its own into out (free with
 * t_resp_free); asserts nothing, so any thread may call it. Returns curl's result. */
CURLcode t_get_fresh(const char *path, t_resp *out);

/* t_expect_error: the reply is status with a JSON {"error": {"code", "message"}} body;
 * returns nothing, asserts. code may be NULL (not checked). */
void t_expect_error(const char *method, const char *path, const char *body, long status,
                    const char *code);

#endif
