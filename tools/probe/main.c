/* rs-probe: exit 0 when the service at URL answers METHOD_HEALTH with ready.
 *   rs-probe [--timeout-ms N] URL
 * Exit 0 ready, 1 not ready, 2 unreachable or no answer in time, 64 usage. One line on stdout
 * (ready / not_ready / unreachable, then the service's detail or the error). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_probe.h"

int
main(int argc, char **argv)
{
	int timeout_ms = 1000, i = 1;
	char detail[512];
	char *end;

	if (i + 1 < argc && strcmp(argv[i], "--timeout-ms") == 0) {
		long t = strtol(argv[i + 1], &end, 10);
		if (*end != '\0' || t < 1 || t > 600000) {
			fprintf(stderr, "rs-probe: --timeout-ms wants 1..600000\n");
			return 64;
		}
		timeout_ms = (int) t;
		i += 2;
	}
	if (i + 1 != argc || argv[i][0] == '-') {
		fprintf(stderr,
		        "usage: rs-probe [--timeout-ms N] URL   (exit 0 ready, 1 not ready, "
		        "2 unreachable)\n");
		return 64;
	}
	int rv = rs_probe_health(argv[i], timeout_ms, detail, sizeof(detail));
	printf("%s %s\n", rv == 1 ? "ready" : rv == 0 ? "not_ready" : "unreachable", detail);
	return rv == 1 ? 0 : rv == 0 ? 1 : 2;
}
