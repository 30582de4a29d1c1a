/* rs_svc: a service's main() run in a child process with a stand-in service: a bad setting
 * exits 2, a state that does not open exits 1, and a running service answers SIGTERM with exit
 * status 0 after its state is closed (each step reported through a pipe). */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rs_err.h"
#include "rs_svc.h"

typedef struct svct_config {
	const char *url, *metrics_addr;
	int workers, max_conns;
	rs_log_level log_level;
	int rpc_transport;
	int open_fails;
} svct_config;

static const rs_cfg_field svct_fields[] = {
        RS_CFG_STR("RS_SVCT_URL", svct_config, url, "tcp://127.0.0.1:0"),
        RS_CFG_STR("RS_SVCT_METRICS_ADDR", svct_config, metrics_addr, "127.0.0.1:0"),
        RS_CFG_INT("RS_SVCT_WORKERS", svct_config, workers, 2, 1, 64),
        RS_CFG_INT("RS_SVCT_MAX_CONNS", svct_config, max_conns, 16, 1, 65536),
        RS_CFG_LEVEL("RS_LOG_LEVEL", svct_config, log_level, "error"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", svct_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_INT("RS_SVCT_OPEN_FAILS", svct_config, open_fails, 0, 0, 1),
        RS_CFG_END,
};

static int report_fd = -1; /* the child's end of the pipe */
static int svct_state = 42;

static void
svct_say(char c)
{
	if (write(report_fd, &c, 1) != 1)
		_exit(99);
}

static int
svct_open(void **st, const void *cfg)
{
	if (((const svct_config *) cfg)->open_fails)
		return RS_EIO;
	*st = &svct_state;
	svct_say('o');
	return 0;
}

static void
svct_close(void *st)
{
	svct_say(st == &svct_state ? 'c' : 'n'); /* n: closed without a state */
}

static void
svct_describe(void *st, const void *cfg, char *buf, size_t n)
{
	(void) cfg;
	snprintf(buf, n, " state=%d", *(int *) st);
	svct_say('r');
}

static void
svct_health(void *ud, rs_rpc_call *call)
{
	(void) ud;
	(void) call;
}

static const rs_rpc_route svct_routes[] = {
        {RS__METHOD__METHOD_HEALTH, "health", svct_health},
        {0, NULL, NULL},
};

/* Runs rs_svc_main in a child with the environment setting (NAME=VALUE or NULL); the pipe's
 * read end into *rd. */
static pid_t
svct_start(const char *setting, int *rd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static svct_config cfg;
		const rs_svc svc = {.name = "svct",
		                    .cfg_fields = svct_fields,
		                    .cfg = &cfg,
		                    .at = RS_SVC_FIELDS(svct_config),
		                    .routes = svct_routes,
		                    .open = svct_open,
		                    .close = svct_close,
		                    .describe = svct_describe};
		close(p[0]);
		report_fd = p[1];
		if (setting != NULL)
			putenv((char *) setting);
		_exit(rs_svc_main(&svc));
	}
	close(p[1]);
	*rd = p[0];
	return pid;
}

/* The next report of the child, or '-' when it closes the pipe, '?' after 10 s. */
static char
svct_next(int rd)
{
	struct pollfd pf = {.fd = rd, .events = POLLIN};
	char c;

	if (poll(&pf, 1, 10000) != 1)
		return '?';
	return read(rd, &c, 1) == 1 ? c : '-';
}

static int
svct_exit_status(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "the child did not exit (status %d)", st);
	return WEXITSTATUS(st);
}

Test(svc, a_bad_setting_exits_2_before_opening)
{
	int rd;
	pid_t pid = svct_start("RS_SVCT_WORKERS=0", &rd);

	cr_assert_eq(svct_next(rd), '-', "nothing was opened or closed");
	cr_assert_eq(svct_exit_status(pid), 2);
	close(rd);
}

Test(svc, a_state_that_does_not_open_exits_1)
{
	int rd;
	pid_t pid = svct_start("RS_SVCT_OPEN_FAILS=1", &rd);

	cr_assert_eq(svct_next(rd), 'n', "close runs with no state");
	cr_assert_eq(svct_next(rd), '-');
	cr_assert_eq(svct_exit_status(pid), 1);
	close(rd);
}

Test(svc, sigterm_stops_a_running_service_with_status_0)
{
	int rd;
	pid_t pid = svct_start(NULL, &rd);

	cr_assert_eq(svct_next(rd), 'o');
	cr_assert_eq(svct_next(rd), 'r', "ready once both listeners are up");
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(svct_next(rd), 'c', "the state is closed on the way out");
	cr_assert_eq(svct_next(rd), '-');
	cr_assert_eq(svct_exit_status(pid), 0);
	close(rd);
}
