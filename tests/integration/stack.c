#include "stack.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *const stack_svc_names[STACK_NSVC] = {"ingest", "feature", "candidate", "ranking",
                                                 "gateway"};

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int
run_cmd(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int
stack_db_reset(test_stack *st, const char *name)
{
	const char *base = getenv("RS_TEST_PG_DSN");
	const char *root = getenv("RS_TEST_ROOT");
	char cmd[2048];

	if (base == NULL || root == NULL) {
		fprintf(stderr, "stack: RS_TEST_PG_DSN and RS_TEST_ROOT must be set "
		                "(run the tests through scripts/test.sh)\n");
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
	         "psql '%s' -qX -v ON_ERROR_STOP=1 -c 'set client_min_messages = warning' -c 'drop "
	         "database if exists %s with (force)' "
	         "-c 'create database %s' >/dev/null",
	         base, name, name);
	if (run_cmd(cmd) != 0) {
		fprintf(stderr, "stack: could not recreate database %s\n", name);
		return -1;
	}
	snprintf(st->dsn, sizeof(st->dsn), "%s dbname=%s", base, name); /* last dbname wins */
	snprintf(cmd, sizeof(cmd),
	         "RS_INGEST_BIN='%s/services/ingest/rs-ingest' '%s/scripts/migrate.sh' '%s' "
	         ">/dev/null 2>&1",
	         getenv("RS_TEST_BUILD"), root, st->dsn);
	if (run_cmd(cmd) != 0) {
		fprintf(stderr, "stack: migrations failed\n");
		return -1;
	}
	return 0;
}

int
stack_sql(const test_stack *st, const char *sql)
{
	char path[] = "/tmp/rs-it-sql-XXXXXX";
	char cmd[1024];
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	fputs(sql, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "psql '%s' -qX -v ON_ERROR_STOP=1 -f %s >/dev/null", st->dsn,
	         path);
	int rc = run_cmd(cmd);
	unlink(path);
	return rc;
}

int
stack_sql_value(const test_stack *st, const char *sql, char *out, size_t n)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "psql '%s' -qXAt -c \"%s\"", st->dsn, sql);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fgets(out, (int) n, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

static pid_t
spawn_svc(const test_stack *st, int idx)
{
	const char *build = getenv("RS_TEST_BUILD");
	char exe[512], logp[512];
	char e_dsn[600], e_http[96], e_ing[64], e_pub[64], e_feat[64], e_cand[64], e_rank[64],
	        e_spool[300], e_metrics[64];
	pid_t pid;
	posix_spawn_file_actions_t fa;

	snprintf(exe, sizeof(exe), "%s/services/%s/rs-%s", build, stack_svc_names[idx],
	         stack_svc_names[idx]);
	snprintf(logp, sizeof(logp), "%s/it-%s.log", build, stack_svc_names[idx]);
	snprintf(e_dsn, sizeof(e_dsn), "RS_PG_DSN=%s", st->dsn);
	snprintf(e_http, sizeof(e_http), "RS_GATEWAY_HTTP=%s", st->http);
	snprintf(e_ing, sizeof(e_ing), "RS_INGEST_URL=tcp://127.0.0.1:%d", st->base_port + 1);
	snprintf(e_pub, sizeof(e_pub), "RS_INGEST_PUB_URL=tcp://127.0.0.1:%d", st->base_port + 2);
	snprintf(e_feat, sizeof(e_feat), "RS_FEATURE_URL=tcp://127.0.0.1:%d", st->base_port + 3);
	snprintf(e_cand, sizeof(e_cand), "RS_CANDIDATE_URL=tcp://127.0.0.1:%d", st->base_port + 4);
	snprintf(e_rank, sizeof(e_rank), "RS_RANKING_URL=tcp://127.0.0.1:%d", st->base_port + 5);
	snprintf(e_spool, sizeof(e_spool), "RS_INGEST_SPOOL_DIR=%s", st->spool);
	/* each backend's own /metrics listener on a port of this stack (never the defaults) */
	static const char *const metrics_var[] = {"INGEST", "FEATURE", "CANDIDATE", "RANKING"};
	if (idx < 4)
		snprintf(e_metrics, sizeof(e_metrics), "RS_%s_METRICS_ADDR=127.0.0.1:%d",
		         metrics_var[idx], stack_metrics_port(st, idx));

	/* Inherit the environment (ASAN_OPTIONS etc.) and override ours. */
	size_t n = 0;
	while (environ[n] != NULL)
		n++;
	char **env = calloc(n + 16 + 8, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "RS_", 3) != 0 ||
		    strncmp(environ[i], "RS_RPC_TRANSPORT=", 17) ==
		            0) /* the ctest variants' switch */
			env[k++] = environ[i];
	/* extra_env first: getenv returns the first match, so these override the stack's own. */
	for (size_t i = 0; i < 8 && st->extra_env[i] != NULL; i++)
		env[k++] = (char *) st->extra_env[i];
	env[k++] = e_dsn;
	env[k++] = e_http;
	env[k++] = e_ing;
	env[k++] = e_pub;
	env[k++] = e_feat;
	env[k++] = e_cand;
	env[k++] = e_rank;
	env[k++] = e_spool;
	if (idx < 4)
		env[k++] = e_metrics;
	env[k++] = "RS_CANDIDATE_REFRESH_MS=200";
	env[k++] = "RS_LOG_LEVEL=info";
	/* RS_TEST_TIME_SCALE (scripts/test.sh --tsan: 5): a sanitized stack answers that much
	 * slower, so the gateway's request deadline (250 ms) grows with it; the suites count
	 * degraded answers, and a deadline a sanitized stack misses is not what they test. A
	 * test's extra_env still wins. */
	char e_deadline[64];
	const char *scale = getenv("RS_TEST_TIME_SCALE");
	if (idx == STACK_GATEWAY && scale != NULL && atoi(scale) > 1) {
		snprintf(e_deadline, sizeof(e_deadline), "RS_GATEWAY_DEADLINE_MS=%d",
		         250 * atoi(scale));
		env[k++] = e_deadline;
	}
	env[k] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *argv[] = {exe, NULL};
	int rc = posix_spawn(&pid, exe, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		fprintf(stderr, "stack: cannot start %s: %s\n", exe, strerror(rc));
		return -1;
	}
	return pid;
}

int
stack_start(test_stack *st, int base_port, int timeout_ms)
{
	const char *off = getenv("RS_TEST_PORT_OFFSET");
	st->base_port = base_port + (off != NULL ? atoi(off) : 0);
	base_port = st->base_port;
	snprintf(st->http, sizeof(st->http), "127.0.0.1:%d", base_port);
	snprintf(st->url, sizeof(st->url), "http://%s", st->http);
	snprintf(st->spool, sizeof(st->spool), "%s/it-spool-%d", getenv("RS_TEST_BUILD"),
	         base_port);
	for (int i = 0; i < STACK_NSVC; i++) {
		st->pids[i] = spawn_svc(st, i);
		if (st->pids[i] < 0)
			return -1;
	}
	/* RS_TEST_TIME_SCALE (scripts/test.sh --tsan: 5): sanitized services start slower */
	const char *scale = getenv("RS_TEST_TIME_SCALE");
	if (scale != NULL && atoi(scale) > 1)
		timeout_ms *= atoi(scale);
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		http_reply r;
		if (http_do(st, "GET", "/readyz", NULL, &r) == 0) {
			long s = r.status;
			http_reply_free(&r);
			if (s == 200)
				return 0;
		}
		sleep_ms(100);
	}
	fprintf(stderr, "stack: not ready after %d ms\n", timeout_ms);
	return -1;
}

int
stack_start_one(test_stack *st, int idx)
{
	if (st->pids[idx] > 0)
		return -1;
	st->pids[idx] = spawn_svc(st, idx);
	return st->pids[idx] > 0 ? 0 : -1;
}

void
stack_kill(test_stack *st, int idx)
{
	if (st->pids[idx] > 0) {
		kill(st->pids[idx], SIGKILL);
		waitpid(st->pids[idx], NULL, 0);
		st->pids[idx] = 0;
	}
}

void
stack_kill_all(test_stack *st)
{
	for (int i = 0; i < STACK_NSVC; i++)
		stack_kill(st, i);
}

/* The last lines of a service's log on stderr: what a failed stop or start needs to be
 * understood after the next run has overwritten nothing (logs are appended). */
static void
stack_log_tail(int idx)
{
	const char *build = getenv("RS_TEST_BUILD");
	char path[512], line[1024];
	long off[40];
	int n = 0;
	snprintf(path, sizeof(path), "%s/it-%s.log", build != NULL ? build : ".",
	         stack_svc_names[idx]);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	for (;;) { /* offsets of the last 40 lines */
		long at = ftell(f);
		if (fgets(line, sizeof(line), f) == NULL)
			break;
		off[n % 40] = at;
		n++;
	}
	if (n > 0 && fseek(f, off[n > 40 ? n % 40 : 0], SEEK_SET) == 0) {
		fprintf(stderr, "stack: last lines of %s:\n", path);
		while (fgets(line, sizeof(line), f) != NULL)
			fputs(line, stderr);
	}
	fclose(f);
}

int
stack_stop_one(test_stack *st, int idx)
{
	int status;
	if (st->pids[idx] <= 0)
		return 0;
	kill(st->pids[idx], SIGTERM);
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(st->pids[idx], &status, WNOHANG);
		if (r == st->pids[idx]) {
			int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			st->pids[idx] = 0;
			if (rc != 0)
				stack_log_tail(idx);
			return rc;
		}
		sleep_ms(100);
	}
	stack_kill(st, idx);
	return -1;
}

int
stack_stop(test_stack *st)
{
	int bad = 0;
	for (int i = STACK_NSVC - 1; i >= 0; i--) {
		int rc = stack_stop_one(st, i);
		if (rc != 0) {
			fprintf(stderr, "stack: %s exited with %d\n", stack_svc_names[i], rc);
			bad++;
		}
	}
	return bad;
}

static size_t
http_collect(char *p, size_t sz, size_t nm, void *ud)
{
	http_reply *r = ud;
	size_t n = sz * nm;
	char *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, n);
	r->len += n;
	nb[r->len] = '\0';
	r->body = nb;
	return n;
}

int
http_do(const test_stack *st, const char *method, const char *path, const char *body,
        http_reply *out)
{
	return http_do_h(st, method, path, body, NULL, out);
}

int
http_do_h(const test_stack *st, const char *method, const char *path, const char *body,
          const char *const *headers, http_reply *out)
{
	char url[512];
	struct curl_slist *hdr = NULL;
	CURL *c = curl_easy_init();
	char *ct = NULL;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", st->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hdr = curl_slist_append(hdr, headers[i]);
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (hdr != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
			snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
		struct curl_header *wa = NULL;
		if (curl_easy_header(c, "WWW-Authenticate", 0, CURLH_HEADER, -1, &wa) == CURLHE_OK)
			snprintf(out->www_authenticate, sizeof(out->www_authenticate), "%s",
			         wa->value);
		if (curl_easy_header(c, "Set-Cookie", 0, CURLH_HEADER, -1, &wa) == CURLHE_OK)
			snprintf(out->set_cookie, sizeof(out->set_cookie), "%s", wa->value);
		if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &wa) == CURLHE_OK)
			snprintf(out->retry_after, sizeof(out->retry_after), "%s", wa->value);
		if (curl_easy_header(c, "X-Request-Id", 0, CURLH_HEADER, -1, &wa) == CURLHE_OK)
			snprintf(out->request_id, sizeof(out->request_id), "%s", wa->value);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) { /* callers free only what a successful call returns */
		http_reply_free(out);
		return -1;
	}
	if (out->body == NULL)
		out->body = calloc(1, 1);
	return 0;
}

void
http_reply_free(http_reply *r)
{
	free(r->body);
	r->body = NULL;
}

int
stack_tool(const test_stack *st, const char *args)
{
	const char *build = getenv("RS_TEST_BUILD");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "'%s/services/gateway/rs-gateway' %s --dsn '%s' >>'%s/it-tool.log' 2>&1", build,
	         args, st->dsn, build);
	return run_cmd(cmd);
}

/* A temporary file (0600) holding text; its path into path[32]. 0 or -1. */
static int
temp_file(const char *text, char *path)
{
	snprintf(path, 32, "/tmp/rs-it-secret-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t) n;
	close(fd);
	return ok ? 0 : -1;
}

int
stack_account(const test_stack *st, const char *login, const char *role, long long user_id,
              const char *password)
{
	char pw[32], args[512], uid[48] = "";
	if (temp_file(password, pw) != 0)
		return -1;
	if (user_id > 0)
		snprintf(uid, sizeof(uid), " --user-id %lld", user_id);
	snprintf(args, sizeof(args), "account set --login '%s' --role %s%s --password-file %s",
	         login, role, uid, pw);
	int rc = stack_tool(st, args);
	unlink(pw);
	return rc;
}

int
stack_apikey(const test_stack *st, const char *name, char *key, size_t n)
{
	char path[] = "/tmp/rs-it-key-XXXXXX", args[256];
	int fd = mkstemp(path); /* empty: the tool writes a new key into it */
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(args, sizeof(args), "apikey create --name '%s' --key-file %s", name, path);
	int rc = stack_tool(st, args);
	FILE *f = rc == 0 ? fopen(path, "r") : NULL;
	int ok = f != NULL && fgets(key, (int) n, f) != NULL;
	if (f != NULL)
		fclose(f);
	unlink(path);
	if (!ok)
		return -1;
	key[strcspn(key, "\n")] = '\0';
	return key[0] != '\0' ? 0 : -1;
}

long
stack_login(const test_stack *st, const char *login, const char *password, char *cookie, size_t n,
            http_reply *out)
{
	char body[512];
	http_reply r;
	snprintf(body, sizeof(body), "{\"login\": \"%s\", \"password\": \"%s\"}", login, password);
	if (http_do(st, "POST", "/v1/auth/login", body, &r) != 0)
		return -1;
	long status = r.status;
	if (cookie != NULL && n > 0) {
		size_t len = strcspn(r.set_cookie, ";");
		snprintf(cookie, n, "Cookie: %.*s", (int) len, r.set_cookie);
	}
	if (out != NULL)
		*out = r;
	else
		http_reply_free(&r);
	return status;
}

/* 40 items in two categories, 50 customers, a small history: user u viewed items
 * (u % 20) + 1 and (u % 20) + 21, and bought (u % 20) + 1. */
const char it_seed_sql[] =
        "insert into items(item_id, external_id, title, category, brand, price, in_stock)\n"
        "  select i, 'sku-' || i, case when i <= 20 then 'Novel ' else 'Pan ' end || i,\n"
        "         case when i <= 20 then 'Books/Fiction' else 'Home/Kitchen' end, 'Acme',\n"
        "         10 + i, true from generate_series(1, 40) i;\n"
        "insert into users(user_id, external_id, display_name)\n"
        "  select u, 'u' || u, 'Customer ' || u from generate_series(1, 50) u;\n"
        "insert into events(event_id, user_id, item_id, type, ts)\n"
        "  select 'seed-v1-' || u, u, (u % 20) + 1, 1, now() - interval '2 days' from "
        "generate_series(1, 50) u\n"
        "  union all select 'seed-v2-' || u, u, (u % 20) + 21, 1, now() - interval '2 days' "
        "from generate_series(1, 50) u\n"
        "  union all select 'seed-p-' || u, u, (u % 20) + 1, 4, now() - interval '1 day' from "
        "generate_series(1, 50) u;\n";

int
stack_metrics_port(const test_stack *st, int idx)
{
	return idx >= 0 && idx < 4 ? st->base_port + 10 + idx : 0;
}

double
stack_metric(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}
