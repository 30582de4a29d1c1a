/* topk: rs_topk_floats with its working memory (on the stack for small k, else tr_xmalloc's:
 * rs-train stops when memory runs out). */
#include "topk.h"

#include <stdlib.h>

#include "rs_topk.h"
#include "util.h"

enum { TOPK_STACK = 512 }; /* entries of working memory kept on the stack (8 kB) */

int
tr_topk(const float *scores, int32_t n, int k, int32_t *out_idx, float *out_score)
{
	rs_topk_ent stack[TOPK_STACK];

	if (k <= 0 || n <= 0)
		return 0;
	size_t cap = 2 * (size_t) k; /* room for k more than the k kept: few selections */
	rs_topk_ent *room = cap <= TOPK_STACK ? stack : tr_xmalloc(cap * sizeof(*room));
	/* int32_t and uint32_t storage may alias (C11 6.5p7); indices are below n <= INT32_MAX */
	size_t got = rs_topk_floats(scores, (uint32_t) n, (size_t) k, room, cap,
	                            (uint32_t *) out_idx, out_score);
	if (room != stack)
		free(room);
	return (int) got;
}
