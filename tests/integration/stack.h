/* stack: start and stop the five services as real processes for integration tests.
 * Needs RS_TEST_PG_DSN (an existing database the test may fill), RS_TEST_ROOT (the source
 * tree, for scripts/migrate.sh) and RS_TEST_BUILD (the build folder with the executables). */
#ifndef TEST_STACK_H
#define TEST_STACK_H

#include <stddef.h>
#include <sys/types.h>

#define STACK_NSVC    5
#define STACK_GATEWAY 4 /* its index in pids[] and stack_svc_names */

typedef struct test_stack {
	char dsn[512];
	char http[64]; /* host:port of the gateway */
	char url[80];  /* http://host:port */
	char spool[256];
	int base_port;
	pid_t pids[STACK_NSVC]; /* ingest feature candidate ranking gateway */
	/* Extra "NAME=value" entries for every service's environment (e.g. RS_ADMIN_TOKEN), NULL
	 * ends the list; read when a service is (re)started; they win over the stack's own. */
	const char *extra_env[8];
} test_stack;

extern const char *const stack_svc_names[STACK_NSVC];

/* stack_db_reset: drop and recreate database `name` on the server of RS_TEST_PG_DSN,
 * apply the migrations, and write its DSN to st->dsn. Returns 0 or -1 (message printed). */
int stack_db_reset(test_stack *st, const char *name);

/* stack_sql: run SQL through psql against st->dsn. Returns psql's exit status. */
int stack_sql(const test_stack *st, const char *sql);

/* stack_sql_value: first column of the first row as text into out. 0 or -1. */
int stack_sql_value(const test_stack *st, const char *sql, char *out, size_t n);

/* stack_start: start every service on ports base_port.. and wait until /readyz is 200
 * (timeout_ms). Returns 0 or -1. */
int stack_start(test_stack *st, int base_port, int timeout_ms);

/* stack_start_one: (re)start one service (index into pids) that is not running, with the
 * current extra_env. Returns 0 or -1. The caller waits for it to be ready. */
int stack_start_one(test_stack *st, int idx);

/* stack_metrics_port: the port of service idx's metrics listener (RS_<SVC>_METRICS_ADDR on
 * 127.0.0.1), base_port + 10 + idx for ingest, feature, candidate, ranking; 0 for the gateway
 * (its /metrics is on its HTTP port). */
int stack_metrics_port(const test_stack *st, int idx);

/* stack_metric: the value of one sample (the exact series text before the value, e.g.
 * "rs_rpc_requests_total{method=\"rank\",status=\"ok\",svc=\"ranking\"}") in exposition text;
 * -1 when the series is absent. */
double stack_metric(const char *text, const char *series);

/* stack_kill / stack_stop_one: SIGKILL / SIGTERM one service (index into pids). stack_stop_one
 * returns its exit status (or -1 if it did not exit in 10 s). */
void stack_kill(test_stack *st, int idx);
int stack_stop_one(test_stack *st, int idx);

/* stack_stop: SIGTERM every running service; returns the number that did not exit 0. */
int stack_stop(test_stack *st);

/* stack_kill_all: SIGKILL whatever is still running. Every test's .fini calls it, so a failed
 * assertion (which skips the stack_stop at the end of the body) leaves no service behind to
 * hold the next run's ports and spool. */
void stack_kill_all(test_stack *st);

typedef struct http_reply {
	long status;
	char *body; /* malloc'd, NUL-terminated */
	size_t len;
	char content_type[128];
	char www_authenticate[160]; /* the WWW-Authenticate response header, "" when absent */
	char set_cookie[256];       /* the Set-Cookie response header, "" when absent */
	char retry_after[16];       /* the Retry-After response header, "" when absent */
	char request_id[80];        /* the X-Request-Id response header, "" when absent */
} http_reply;

/* http_do: one request to st->url + path; body may be NULL. Returns 0 or -1 (transport). */
int http_do(const test_stack *st, const char *method, const char *path, const char *body,
            http_reply *out);
void http_reply_free(http_reply *r);

/* http_do_h: http_do with extra request headers ("Name: value", NULL-terminated; may be NULL). */
int http_do_h(const test_stack *st, const char *method, const char *path, const char *body,
              const char *const *headers, http_reply *out);

/* stack_tool: run `rs-gateway ARGS --dsn <st->dsn>` (the account tooling) from RS_TEST_BUILD,
 * its output into the build folder's it-tool.log. Returns its exit status. */
int stack_tool(const test_stack *st, const char *args);

/* stack_account: `rs-gateway account set` for login with role ("customer"/"admin"), user_id
 * (0: a new one) and password (written to a temporary 0600 file). Returns the exit status. */
int stack_account(const test_stack *st, const char *login, const char *role, long long user_id,
                  const char *password);

/* stack_apikey: `rs-gateway apikey create --name name` into a temporary key file; the key it
 * wrote into key (n bytes). Returns 0 or -1. */
int stack_apikey(const test_stack *st, const char *name, char *key, size_t n);

/* stack_login: POST /v1/auth/login; on 200 the session as a request header ("Cookie:
 * rs_session=...") into cookie (n bytes). Returns the HTTP status (or -1); *out (may be NULL)
 * gets the reply, which the caller frees. */
long stack_login(const test_stack *st, const char *login, const char *password, char *cookie,
                 size_t n, http_reply *out);

/* 40 items in two categories, 50 customers, a small history: user u viewed items
 * (u % 20) + 1 and (u % 20) + 21, and bought (u % 20) + 1. */
extern const char it_seed_sql[];

#endif
