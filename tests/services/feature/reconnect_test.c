/* feat_store's reconnect after an outage, by counting: PostgreSQL is reached through a port
 * where nothing listens at first (the outage) and a forwarder to the test PostgreSQL comes up
 * there later. Every wait the store draws stays within its cap (500 ms) however many attempts
 * failed, and once PostgreSQL is back, the first request (answered RS_EUNAVAIL: no
 * connection yet) plus one maintenance pass bring the pool back. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "rs_err.h"
#include "rs_log.h"
#include "store.h"

static fx_pg fx;

/* ---- a TCP forwarder 127.0.0.1:port -> the test PostgreSQL ---- */

#define FWD_MAX 16

typedef struct fwd {
	int port, to_port;
	int lfd;
	pthread_t th;
	atomic_int stop;
	int fds[FWD_MAX * 2];
	pthread_t pumps[FWD_MAX];
	int n;
} fwd;

static fwd fw = {.lfd = -1};

/* A port nothing listens on (bound, then closed). */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void *
fwd_pump(void *arg)
{
	int *p = arg; /* p[0] client, p[1] server */
	char buf[16384];
	struct pollfd pf[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLIN}};
	while (!atomic_load(&fw.stop) && poll(pf, 2, 100) >= 0) {
		for (int i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(pf[1 - i].fd, buf, (size_t) n) != n)
				goto out;
		}
	}
out:
	shutdown(p[0], SHUT_RDWR);
	shutdown(p[1], SHUT_RDWR);
	return NULL;
}

static void *
fwd_accept(void *arg)
{
	(void) arg;
	while (!atomic_load(&fw.stop)) {
		int c = accept(fw.lfd, NULL, NULL);
		if (c < 0)
			break;
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t) fw.to_port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (fw.n >= FWD_MAX || s < 0 ||
		    connect(s, (struct sockaddr *) &a, sizeof(a)) != 0) {
			close(c);
			if (s >= 0)
				close(s);
			continue;
		}
		fw.fds[2 * fw.n] = c;
		fw.fds[2 * fw.n + 1] = s;
		if (pthread_create(&fw.pumps[fw.n], NULL, fwd_pump, &fw.fds[2 * fw.n]) != 0) {
			close(c);
			close(s);
			continue;
		}
		fw.n++;
	}
	return NULL;
}

/* PostgreSQL is back: the forwarder listens on fw.port. */
static void
fwd_up(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t) fw.port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	fw.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fw.lfd, 0);
	setsockopt(fw.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fw.lfd, (struct sockaddr *) &a, sizeof(a)), 0, "port %d", fw.port);
	cr_assert_eq(listen(fw.lfd, 16), 0);
	cr_assert_eq(pthread_create(&fw.th, NULL, fwd_accept, NULL), 0);
}

static void
fwd_down(void)
{
	if (fw.lfd < 0)
		return;
	atomic_store(&fw.stop, 1);
	shutdown(fw.lfd, SHUT_RDWR);
	pthread_join(fw.th, NULL);
	close(fw.lfd);
	for (int i = 0; i < fw.n; i++) {
		pthread_join(fw.pumps[i], NULL);
		close(fw.fds[2 * i]);
		close(fw.fds[2 * i + 1]);
	}
	fw.lfd = -1;
	fw.n = 0;
}

/* fx.dsn with its port replaced by port. */
static void
dsn_on_port(int port, char *out, size_t n)
{
	const char *p = strstr(fx.dsn, "port=");
	cr_assert_not_null(p, "RS_TEST_PG_DSN names no port: %s", fx.dsn);
	const char *end = p + 5;
	while (*end >= '0' && *end <= '9')
		end++;
	snprintf(out, n, "%.*sport=%d%s", (int) (p - fx.dsn), fx.dsn, port, end);
	fw.to_port = atoi(p + 5);
}

static void
setup(void)
{
	rs_log_init("feature-reconnect-test", RS_LOG_ERROR);
	fx_pg_setup(&fx, "feat_rc");
	fx_sql(&fx,
	       "insert into items(item_id, title) values (1, 'Knife');"
	       "insert into events(event_id, user_id, item_id, type, ts)"
	       " values ('rc-1', 7, 1, 2, now()), ('rc-2', 7, 1, 1, now() - interval '1 minute')");
}

static void
teardown(void)
{
	fwd_down();
	fx_pg_teardown(&fx);
}

TestSuite(feature_reconnect, .init = setup, .fini = teardown, .timeout = 60);

Test(feature_reconnect, waits_stay_capped_and_the_first_request_after_the_outage_reconnects)
{
	char dsn[1200];
	feat_store *s = NULL;
	feat_store_stat stat;
	feat_event ev[4];
	uint32_t n = 0;
	uint64_t total = 0;
	int known = 0;

	fw.port = free_port();
	dsn_on_port(fw.port, dsn, sizeof(dsn));
	cr_assert_eq(feat_store_open(&s, dsn, 2, 5000), 0);
	cr_assert_eq(feat_store_ready(s), 0, "nothing listens yet");
	cr_assert_eq(feat_store_load_user(s, 7, 4, 0, ev, &n, &total, &known), RS_EUNAVAIL);

	/* the outage: ten failed attempts, each after the wait the store drew */
	feat_store_stats(s, &stat);
	cr_assert_eq(stat.fails, 1, "the open's attempt");
	for (unsigned long want = 2; want <= 10; want++) {
		while (stat.fails < want) {
			usleep(20000);
			feat_store_maintain(s);
			feat_store_stats(s, &stat);
		}
		cr_assert_eq(stat.fails, want);
		cr_assert_leq(stat.last_wait_ms, 500.0, "attempt %lu: a wait of %.0f ms", want,
		              stat.last_wait_ms);
	}
	cr_assert_eq(stat.max_wait_ms, 500.0);
	cr_assert_geq(stat.last_wait_ms, 250.0, "the grown wait is drawn from [cap/2, cap]");
	cr_assert_eq(feat_store_ready(s), 0);

	/* PostgreSQL is back: one request (no connection yet) and one maintenance pass */
	fwd_up();
	cr_assert_eq(feat_store_load_user(s, 7, 4, 0, ev, &n, &total, &known), RS_EUNAVAIL,
	             "the pool has no connection until maintenance makes one");
	feat_store_maintain(s);
	feat_store_stats(s, &stat);
	cr_assert_eq(feat_store_ready(s), 1,
	             "one request and one maintenance pass after PostgreSQL is back reconnect "
	             "(fails %lu, wakes %lu, last wait %.0f ms)",
	             stat.fails, stat.wakes, stat.last_wait_ms);
	cr_assert_eq(stat.fails, 10, "no failed attempt once PostgreSQL is back");
	cr_assert_eq(feat_store_load_user(s, 7, 4, 0, ev, &n, &total, &known), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(total, 2);
	cr_assert_eq(ev[0].type, 2, "newest first: the click");
	feat_store_close(s);
}
