/* rs_arena: a per-request bump allocator. Everything a request allocates comes from its
 * arena and is released at once by rs_arena_reset() after the response is sent.
 * Not thread-safe: one arena per worker. */
#ifndef RS_ARENA_H
#define RS_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct rs_arena rs_arena;

/* rs_arena_create: an arena whose first chunk holds chunk_size bytes (0 = 64 KiB).
 * Returns 0 and *out, or RS_ENOMEM. */
int rs_arena_create(rs_arena **out, size_t chunk_size);

/* rs_arena_destroy: free every chunk. NULL is a no-op. */
void rs_arena_destroy(rs_arena *a);

/* rs_arena_alloc: n bytes aligned to 16, valid until the next reset or destroy.
 * Returns NULL only when malloc fails or n exceeds the arena limit (256 MiB). */
void *rs_arena_alloc(rs_arena *a, size_t n);

/* rs_arena_strdup: a copy of s (NULL -> NULL) in the arena. */
char *rs_arena_strdup(rs_arena *a, const char *s);

/* rs_arena_reset: forget every allocation; keeps the first chunk, frees the others. */
void rs_arena_reset(rs_arena *a);

/* rs_arena_used: bytes handed out since the last reset. */
size_t rs_arena_used(const rs_arena *a);

/* rs_arena_pb: a protobuf-c allocator drawing from this arena (free is a no-op). The
 * returned struct lives inside the arena object and stays valid until destroy. */
ProtobufCAllocator *rs_arena_pb(rs_arena *a);

#endif
