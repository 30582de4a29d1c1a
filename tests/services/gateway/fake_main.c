/* gw-fake-downstreams: the test fakes as real processes on the shared RS_*_URL addresses, for
 * benchmarking rs-gateway alone (wrk against fixed downstream answers). Not a test.
 *   RS_FAKE_NCAND (30)   candidates per answer; RS_FAKE_WORKERS (2) workers per fake;
 *   RS_FAKE_RANK_DELAY_MS (0) ranking sleeps this long before answering. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fake_servers.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_proc.h"

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : dflt;
}

int
main(void)
{
	const char *urls[4] = {env_or("RS_INGEST_URL", "tcp://127.0.0.1:7100"),
	                       env_or("RS_FEATURE_URL", "tcp://127.0.0.1:7200"),
	                       env_or("RS_CANDIDATE_URL", "tcp://127.0.0.1:7300"),
	                       env_or("RS_RANKING_URL", "tcp://127.0.0.1:7400")};
	int workers = atoi(env_or("RS_FAKE_WORKERS", "2"));
	rs_rpc_server *srv[4] = {0};
	int rv = 0;

	fake_ncand = atoi(env_or("RS_FAKE_NCAND", "30"));
	atomic_store(&t_fake.ranking_delay_ms, atoi(env_or("RS_FAKE_RANK_DELAY_MS", "0")));
	if (fake_ncand < 1 || fake_ncand > 1000 || workers < 1)
		return 2;
	rs_log_init("fake", RS_LOG_WARN);
	rs_proc_install_signals();
	for (int i = 0; i < 4 && rv == 0; i++)
		if ((rv = rs_rpc_server_open(&srv[i], urls[i], workers, fake_routes[i], NULL)) != 0)
			fprintf(stderr, "gw-fake-downstreams: %s: %s\n", urls[i], rs_strerror(rv));
	if (rv == 0)
		fprintf(stderr, "gw-fake-downstreams: serving (%d candidates)\n", fake_ncand);
	while (rv == 0 && !rs_proc_stop_requested())
		usleep(50 * 1000);
	for (int i = 3; i >= 0; i--)
		rs_rpc_server_close(srv[i]);
	return rv == 0 ? 0 : 1;
}
