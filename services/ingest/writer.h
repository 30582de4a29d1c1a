/* writer: the threads that make events durable.
 *
 * Workers hand validated, normalized events (event_id and ts_ms set) to ing_writer_submit(),
 * which blocks until they are durable. A free writer thread (each has its own PostgreSQL
 * connection, so one can COPY while another waits for its COMMIT to reach disk) takes every
 * queued job at once (group commit, up to group_max_events) and, while PostgreSQL is up and the
 * spool is empty, writes them in one transaction: binary COPY of the ids into event_ids and of the
 * rows into events; if an id is already stored (unique violation) it rolls back to a savepoint
 * and takes the staging path instead (COPY into a temp table, insert the new ids into event_ids
 * ON CONFLICT DO NOTHING, insert only those rows into events), then COMMIT. Events whose id
 * already existed (or repeats within the group) are duplicates. Accepted events are published
 * on the pub socket after the commit.
 *
 * When PostgreSQL is unreachable (or the spool still holds records, to keep order), the group is
 * appended to the fsync'ed spool instead and acknowledged from there; once PostgreSQL answers
 * again the spool is replayed oldest first through the same idempotent write, and replayed rows
 * are published when they commit. Duplicates against rows already in PostgreSQL are therefore
 * only detected (and dropped) at replay time for spooled events. */
#ifndef ING_WRITER_H
#define ING_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "event.pb-c.h"

enum ing_result {
	ING_R_ACCEPTED = 0,
	ING_R_DUPLICATE = 1,
	ING_R_UNKNOWN_ITEM = 2,
};

typedef struct ing_writer_opts {
	const char *dsn;            /* libpq conninfo or URI */
	const char *search_path;    /* NULL = server default (tests use a private schema) */
	const char *spool_dir;      /* NULL = no spool: PostgreSQL down means unavailable */
	const char *pub_url;        /* NULL = do not publish */
	size_t group_max_events;    /* 0 = 20000 */
	int reconnect_ms;           /* 0 = 500: delay between reconnect attempts */
	size_t spool_segment_bytes; /* 0 = 64 MiB */
	int writers;                /* writer threads, each with its own connection; 0 = 2 */
} ing_writer_opts;

/* One submission. events are borrowed until ing_writer_submit returns; results[i] gets an
 * enum ing_result for events[i]. */
typedef struct ing_job {
	Rs__Event **j_events;
	size_t j_n;
	uint8_t *j_results;
	int j_rv;      /* 0, or RS_EUNAVAIL (neither PostgreSQL nor spool), RS_EDB */
	int j_spooled; /* 1 if acknowledged from the spool */
	int j_done;
	struct ing_job *j_next;
} ing_job;

typedef struct ing_writer ing_writer;

typedef struct ing_writer_status {
	int pg_up;
	int spool_enabled;
	int spool_writable;
	uint64_t spool_pending; /* records (groups) waiting for replay */
} ing_writer_status;

/* ing_writer_open: start the writer thread. PostgreSQL may be down (it is retried); a spool_dir
 * that cannot be opened or a pub_url that cannot be listened on fail here. Strings in o are
 * copied. Returns 0, RS_EIO, RS_EINVAL, RS_EEXIST, RS_ENOMEM. */
int ing_writer_open(ing_writer **out, const ing_writer_opts *o);

/* ing_writer_submit: block until job is durable (j_rv == 0) or failed; returns j_rv. */
int ing_writer_submit(ing_writer *w, ing_job *job);

void ing_writer_status_get(ing_writer *w, ing_writer_status *st);

/* ing_writer_wait_idle: wait up to timeout_ms until the spool is empty and PostgreSQL up
 * (tests, shutdown). Returns 0 or RS_ETIMEDOUT. */
int ing_writer_wait_idle(ing_writer *w, int timeout_ms);

/* ing_writer_close: finish every queued job, stop the thread, close PostgreSQL, the spool and
 * the pub socket. Pending spool records stay on disk for the next start. NULL is a no-op. */
void ing_writer_close(ing_writer *w);

#endif
