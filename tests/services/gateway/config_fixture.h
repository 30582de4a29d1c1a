/* config_fixture: the configuration every handler test's gateway starts from. */
#ifndef GW_TEST_CONFIG_FIXTURE_H
#define GW_TEST_CONFIG_FIXTURE_H

#include "gateway.h"

/* An address nobody serves (a downstream that is not started). */
#define T_NOBODY "tcp://127.0.0.1:1"

/* t_config: a gateway on 127.0.0.1:0 with two HTTP threads, every downstream at an address
 * nobody serves, a database nobody serves (port 1), warnings logged, no access log; 16
 * connections, 1 MiB bodies, a 100 ms recommendation deadline, 100 ms for ingest, 50 ms per
 * health probe, 5 s per statement, the popular list (10 items) refreshed once a minute. A test
 * sets what it needs on top (its database, downstreams, limits). */
gw_config t_config(void);

#endif
