/* feat_sub: the subscriber to ingest's event stream (NNG sub socket; each message is one
 * rs.Envelope{METHOD_EVENT_STREAM, EventBatch}, common/rs_envelope.h). Dialled in the
 * background, so the service starts without ingest.
 *
 * The epoch counts connections: it changes whenever a publisher connects, because events
 * published while we were not connected are lost and every cached history may be stale.
 * The cache is trusted only while complete() (every publisher connected: with several ingest
 * replicas an event reaches only the subscribers of the replica that stored it) and for entries
 * of the current epoch. */
#ifndef FEAT_SUB_H
#define FEAT_SUB_H

#include <stdint.h>

#include "cache.h"

typedef struct feat_sub feat_sub;

/* feat_sub_open: subscribe to url, a comma-separated list of publishers (one per ingest
 * replica; each dialled in the background, reconnecting on its own); events go to cache, which
 * must outlive the subscriber. Returns 0 and *out, RS_EINVAL (a bad url, or none), RS_ENOMEM. */
int feat_sub_open(feat_sub **out, const char *url, feat_cache *cache);

/* feat_sub_close: close the socket. NULL is a no-op. */
void feat_sub_close(feat_sub *s);

/* feat_sub_poll: wait up to timeout_ms for events and apply every one that is queued.
 * Returns the number applied (malformed messages are counted in metrics and skipped). Call
 * from one thread. */
int feat_sub_poll(feat_sub *s, int timeout_ms);

/* feat_sub_connected: live publisher connections (0 when s is NULL). */
int feat_sub_connected(feat_sub *s);

/* feat_sub_publishers: the number of publisher URLs dialled (0 when s is NULL). */
int feat_sub_publishers(feat_sub *s);

/* feat_sub_complete: 1 when every publisher is connected, so no event can be missed; the
 * cache is trusted only then (0 when s is NULL). */
int feat_sub_complete(feat_sub *s);

/* feat_sub_epoch: changes whenever a publisher connects. */
uint64_t feat_sub_epoch(feat_sub *s);

#endif
