/* rs-ingest-load: a load driver for rs-ingest over NNG.
 *
 *   rs-ingest-load --url tcp://127.0.0.1:7100 --events 200000 --batch 1000 --clients 4
 *                  [--items 3000] [--users 1000] [--run ID] [--acked FILE] [--max-seconds S]
 *                  [--rate EV_PER_S]   (pace the load instead of sending as fast as acked)
 *
 * Each client thread sends EventBatch requests of --batch events with unique ids
 * "<run>-<client>-<n>" for existing items 1..--items, waits for the acknowledgement and records
 * its latency. A failed or unanswered request is retried with the same ids (so a retry can only
 * produce duplicates) until acknowledged. --acked FILE gets every acknowledged event id, one per
 * line (the fault test counts them against PostgreSQL). Prints one summary line:
 *   events=N batch=B clients=C seconds=S events_per_s=X req_p50_ms=.. req_p99_ms=.. accepted=..
 *   duplicates=.. rejected=.. retries=..                                                        */
#include "event.pb-c.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_rpc.h"
#include "rs_time.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct load_cfg {
	const char *url, *run, *acked_path;
	long events, batch, clients, items, users;
	double max_seconds;
	double rate; /* events/s over all clients, 0 = as fast as acknowledged */
} load_cfg;

typedef struct load_client {
	const load_cfg *cfg;
	int idx;
	long first, count; /* event sequence range of this client */
	double *lat;       /* per request ms */
	size_t nlat;
	uint64_t accepted, duplicates, rejected, retries, failed;
	pthread_t th;
} load_client;

static pthread_mutex_t load_ack_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *load_ack_file;
static double load_t0;

static void *
load_client_main(void *arg)
{
	load_client *c = arg;
	const load_cfg *cfg = c->cfg;
	rs_rpc_client *cli;
	rs_arena *a;
	long b = cfg->batch;
	Rs__Event *evs = calloc((size_t) b, sizeof(*evs));
	Rs__Event **ptrs = calloc((size_t) b, sizeof(*ptrs));
	char *ids = calloc((size_t) b, 64);
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t) (c->idx + 1);

	if (evs == NULL || ptrs == NULL || ids == NULL || rs_arena_create(&a, 0) != 0 ||
	    rs_rpc_client_open(&cli, cfg->url) != 0) {
		fprintf(stderr, "rs-ingest-load: client setup failed\n");
		exit(1);
	}
	for (int i = 0; i < 500 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(10000);
	for (long done = 0; done < c->count;) {
		long n = c->count - done < b ? c->count - done : b;
		if (cfg->rate > 0) {
			double due = load_t0 +
			             (double) done * 1000.0 * (double) cfg->clients / cfg->rate;
			double now = rs_mono_ms();
			if (due > now)
				usleep((useconds_t) ((due - now) * 1000.0));
		}
		for (long k = 0; k < n; k++) {
			Rs__Event *e = &evs[k];
			rs__event__init(e);
			snprintf(ids + k * 64, 64, "%s-%d-%ld", cfg->run, c->idx,
			         c->first + done + k);
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			e->event_id = ids + k * 64;
			e->user_id = 1 + (int64_t) (rng % (uint64_t) cfg->users);
			e->item_id = 1 + (int64_t) ((rng >> 20) % (uint64_t) cfg->items);
			e->type = (Rs__EventType) (1 + (rng >> 40) % 4);
			ptrs[k] = e;
		}
		Rs__EventBatch req = RS__EVENT_BATCH__INIT;
		Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
		req.header = &h;
		req.events = ptrs;
		req.n_events = (size_t) n;
		for (;;) {
			Rs__EventBatchResponse *resp = NULL;
			Rs__Status st;
			char err[256];
			h.request_id = "load";
			h.deadline_unix_ms = rs_now_ms() + 10000;
			double t0 = rs_mono_ms();
			int rv = rs_rpc_request(cli, RS__METHOD__METHOD_EVENT_BATCH, &req.base,
			                        &rs__event_batch_response__descriptor, 10000, a,
			                        (void **) &resp, &st, err, sizeof(err));
			double ms = rs_mono_ms() - t0;
			if (rv == 0 && st == RS__STATUS__STATUS_OK && resp != NULL) {
				c->lat[c->nlat++] = ms;
				c->accepted += resp->accepted;
				c->duplicates += resp->duplicates;
				c->rejected += resp->n_rejected;
				if (load_ack_file != NULL) {
					/* every event not rejected is stored (accepted now or
					 * earlier) */
					size_t r = 0;
					pthread_mutex_lock(&load_ack_mu);
					for (long k = 0; k < n; k++) {
						if (r < resp->n_rejected &&
						    resp->rejected[r]->index == (uint32_t) k) {
							r++;
							continue;
						}
						fprintf(load_ack_file, "%s\n", ptrs[k]->event_id);
					}
					pthread_mutex_unlock(&load_ack_mu);
				}
				rs_arena_reset(a);
				break;
			}
			rs_arena_reset(a);
			c->retries++;
			if (cfg->max_seconds > 0 &&
			    (rs_mono_ms() - load_t0) / 1000.0 > cfg->max_seconds) {
				c->failed += (uint64_t) n;
				break;
			}
			usleep(rv == RS_EUNAVAIL ? 50000 : 10000);
		}
		done += n;
	}
	rs_rpc_client_close(cli);
	rs_arena_destroy(a);
	free(evs);
	free(ptrs);
	free(ids);
	return NULL;
}

static int
load_cmp(const void *x, const void *y)
{
	double a = *(const double *) x, b = *(const double *) y;
	return a < b ? -1 : a > b;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
	                                     {"events", required_argument, NULL, 'n'},
	                                     {"batch", required_argument, NULL, 'b'},
	                                     {"clients", required_argument, NULL, 'c'},
	                                     {"items", required_argument, NULL, 'i'},
	                                     {"users", required_argument, NULL, 'U'},
	                                     {"run", required_argument, NULL, 'r'},
	                                     {"acked", required_argument, NULL, 'a'},
	                                     {"max-seconds", required_argument, NULL, 'm'},
	                                     {"rate", required_argument, NULL, 'R'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	load_cfg cfg = {.url = "tcp://127.0.0.1:7100",
	                .events = 100000,
	                .batch = 1000,
	                .clients = 4,
	                .items = 3000,
	                .users = 1000};
	char runbuf[32];
	int ch;

	snprintf(runbuf, sizeof(runbuf), "L%lx", (unsigned long) rs_now_ms());
	cfg.run = runbuf;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			cfg.url = optarg;
			break;
		case 'n':
			cfg.events = atol(optarg);
			break;
		case 'b':
			cfg.batch = atol(optarg);
			break;
		case 'c':
			cfg.clients = atol(optarg);
			break;
		case 'i':
			cfg.items = atol(optarg);
			break;
		case 'U':
			cfg.users = atol(optarg);
			break;
		case 'r':
			cfg.run = optarg;
			break;
		case 'a':
			cfg.acked_path = optarg;
			break;
		case 'm':
			cfg.max_seconds = atof(optarg);
			break;
		case 'R':
			cfg.rate = atof(optarg);
			break;
		case 'h':
			printf("usage: rs-ingest-load [--url U] [--events N] [--batch B] "
			       "[--clients C] "
			       "[--items M] [--users U] [--run ID] [--acked FILE] [--max-seconds "
			       "S] [--rate EV_PER_S]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (cfg.events < 1 || cfg.batch < 1 || cfg.clients < 1 || cfg.clients > 256 ||
	    cfg.items < 1 || cfg.users < 1) {
		fprintf(stderr, "rs-ingest-load: bad arguments\n");
		return 2;
	}
	rs_log_init("ingest-load", RS_LOG_ERROR);
	if (cfg.acked_path != NULL && (load_ack_file = fopen(cfg.acked_path, "w")) == NULL) {
		perror(cfg.acked_path);
		return 1;
	}
	load_client *cl = calloc((size_t) cfg.clients, sizeof(*cl));
	long per = cfg.events / cfg.clients, first = 0;
	load_t0 = rs_mono_ms();
	for (long i = 0; i < cfg.clients; i++) {
		cl[i].cfg = &cfg;
		cl[i].idx = (int) i;
		cl[i].first = first;
		cl[i].count = i == cfg.clients - 1 ? cfg.events - first : per;
		first += cl[i].count;
		cl[i].lat = calloc((size_t) (cl[i].count / cfg.batch + 2), sizeof(double));
		pthread_create(&cl[i].th, NULL, load_client_main, &cl[i]);
	}
	uint64_t acc = 0, dup = 0, rej = 0, retries = 0, failed = 0;
	size_t nl = 0;
	for (long i = 0; i < cfg.clients; i++) {
		pthread_join(cl[i].th, NULL);
		nl += cl[i].nlat;
	}
	double secs = (rs_mono_ms() - load_t0) / 1000.0;
	double *all = calloc(nl ? nl : 1, sizeof(double));
	size_t k = 0;
	for (long i = 0; i < cfg.clients; i++) {
		memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof(double));
		k += cl[i].nlat;
		acc += cl[i].accepted;
		dup += cl[i].duplicates;
		rej += cl[i].rejected;
		retries += cl[i].retries;
		failed += cl[i].failed;
		free(cl[i].lat);
	}
	qsort(all, nl, sizeof(double), load_cmp);
	printf("events=%ld batch=%ld clients=%ld seconds=%.2f events_per_s=%.0f req_per_s=%.0f "
	       "req_p50_ms=%.2f req_p99_ms=%.2f req_max_ms=%.1f accepted=%" PRIu64
	       " duplicates=%" PRIu64 " rejected=%" PRIu64 " retries=%" PRIu64 " unacked=%" PRIu64
	       "\n",
	       cfg.events, cfg.batch, cfg.clients, secs,
	       (double) (cfg.events - (long) failed) / secs, (double) nl / secs,
	       nl ? all[nl / 2] : 0, nl ? all[(size_t) ((double) nl * 0.99)] : 0,
	       nl ? all[nl - 1] : 0, acc, dup, rej, retries, failed);
	if (load_ack_file != NULL)
		fclose(load_ack_file);
	free(all);
	free(cl);
	return failed ? 1 : 0;
}
