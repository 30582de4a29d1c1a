/* wire: the candidate list of a CandidatesResponse written straight from the retrieval's
 * results in protobuf's wire format, without building an Rs__Candidate per item for
 * protobuf-c to walk twice (get_packed_size, then pack). The bytes are exactly those
 * protobuf-c writes for the same message (tests/services/candidate/wire_test.c compares them
 * on random answers), so every reader keeps using the generated code. */
#ifndef CAND_WIRE_H
#define CAND_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.pb-c.h"
#include "ranker_in.h"
#include "retrieve.h"
#include "rs_arena.h"
#include "snapshot.h"

/* cand_wire_pack: CandidatesResponse m, whose `candidates` are res[0..n) of snapshot snap
 * (each named by cand_src_names, with rin's ranker scores and ranks when rin != NULL and
 * rin->ns > 0), into arena memory *out (*len bytes). m->candidates must be empty: every
 * other field of m is packed by protobuf-c around the list in field order. 0 or RS_ENOMEM. */
int cand_wire_pack(const Rs__CandidatesResponse *m, const cand_snap *snap, const cand_result *res,
                   size_t n, const cand_rin *rin, rs_arena *a, uint8_t **out, size_t *len);

#endif
