/* spool: the durable local queue ingest acknowledges from while PostgreSQL is unreachable.
 *
 * A directory of append-only segment files spool-<16 digit seq>.log. Each record is
 *   u32 magic 'RSP1' | u32 payload length | u32 crc32(payload) | payload
 * (little-endian), and ing_spool_append() returns only after write() + fdatasync() (and, for a new
 * segment, an fsync of the directory), so an acknowledged record survives kill -9 and power loss.
 * Records are read back oldest first with ing_spool_peek(); ing_spool_pop() consumes the record
 * after its contents are committed elsewhere, and a fully consumed segment is unlinked. A crash
 * between commit and unlink re-delivers records: the consumer must be idempotent (ingest is,
 * through event_ids). On open, a torn or corrupt tail (a record whose append never returned) is
 * truncated away. Not thread-safe: one owner thread. */
#ifndef ING_SPOOL_H
#define ING_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ing_spool ing_spool;

/* ing_spool_open: open (creating it) the spool in dir; scans existing segments, truncating a
 * torn tail. segment_bytes is the rotation size (0 = 64 MiB). The directory is locked (flock on
 * dir/spool.lock) until close, so two processes never share a spool. Returns 0, RS_EIO (dir not
 * usable, logged), RS_EBUSY (locked by another process), RS_ENOMEM. */
int ing_spool_open(ing_spool **out, const char *dir, size_t segment_bytes);
void ing_spool_close(ing_spool *sp); /* NULL is a no-op; pending records stay on disk */

/* ing_spool_append: durably append one record. Returns 0 or RS_EIO/RS_ENOMEM (nothing acked). */
int ing_spool_append(ing_spool *sp, const void *data, size_t len);

/* ing_spool_peek: the oldest pending record. On 0, *data (len *len) is owned by the spool and
 * valid until the next call on sp. RS_ENOTFOUND when empty; RS_EIO on read errors. */
int ing_spool_peek(ing_spool *sp, const uint8_t **data, size_t *len);

/* ing_spool_pop: consume the record returned by the last peek. 0 or RS_EIO. */
int ing_spool_pop(ing_spool *sp);

uint64_t ing_spool_pending(const ing_spool *sp); /* records not yet popped */
int ing_spool_writable(const ing_spool *sp);     /* 1 if the directory accepts writes */

#endif
