#include "rs_arena.h"
#include "rs_err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_LIMIT ((size_t) 256 << 20)

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	/* followed by size bytes; the header is a multiple of ARENA_ALIGN */
} arena_chunk;

struct rs_arena {
	arena_chunk *a_head;  /* current chunk; a_first is at the end of the list */
	arena_chunk *a_first; /* kept across resets */
	size_t a_total;       /* bytes handed out since reset */
	ProtobufCAllocator a_pb;
};

#define CHUNK_HDR ((sizeof(arena_chunk) + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1))

static arena_chunk *
chunk_new(size_t size)
{
	arena_chunk *c = malloc(CHUNK_HDR + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

static void *
arena_pb_alloc(void *ud, size_t n)
{
	return rs_arena_alloc(ud, n);
}

static void
arena_pb_free(void *ud, void *p)
{
	(void) ud;
	(void) p;
}

int
rs_arena_create(rs_arena **out, size_t chunk_size)
{
	rs_arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return RS_ENOMEM;
	a->a_first = chunk_new(chunk_size ? chunk_size : 64 * 1024);
	if (a->a_first == NULL) {
		free(a);
		return RS_ENOMEM;
	}
	a->a_head = a->a_first;
	a->a_pb.alloc = arena_pb_alloc;
	a->a_pb.free = arena_pb_free;
	a->a_pb.allocator_data = a;
	*out = a;
	return 0;
}

void
rs_arena_destroy(rs_arena *a)
{
	if (a == NULL)
		return;
	rs_arena_reset(a);
	free(a->a_first);
	free(a);
}

void *
rs_arena_alloc(rs_arena *a, size_t n)
{
	arena_chunk *c = a->a_head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);

	if (n == 0)
		need = ARENA_ALIGN;
	if (need > ARENA_LIMIT || a->a_total + need > ARENA_LIMIT)
		return NULL;
	if (c->size - c->used < need) {
		size_t sz = c->size * 2 > need ? c->size * 2 : need;
		if (sz > ARENA_LIMIT)
			sz = need;
		arena_chunk *nc = chunk_new(sz);
		if (nc == NULL)
			return NULL;
		nc->next = c;
		a->a_head = c = nc;
	}
	void *p = (char *) c + CHUNK_HDR + c->used;
	c->used += need;
	a->a_total += need;
	return p;
}

char *
rs_arena_strdup(rs_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = rs_arena_alloc(a, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
rs_arena_reset(rs_arena *a)
{
	arena_chunk *c = a->a_head;
	while (c != a->a_first) {
		arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->a_head = a->a_first;
	a->a_first->used = 0;
	a->a_total = 0;
}

size_t
rs_arena_used(const rs_arena *a)
{
	return a->a_total;
}

ProtobufCAllocator *
rs_arena_pb(rs_arena *a)
{
	return &a->a_pb;
}
