/* rankwire: the RANK request read off the wire. protobuf-c's generic unpack of the candidate
 * answer that a RankRequest carries (retrieval: a few hundred Candidates, each with its
 * sources, metadata and ranker scores) was the largest cost of rs-ranking after the forest
 * (~415k instructions a request, bench/serving/instructions.sh); this reader decodes the
 * Candidate and SourceScore messages with common/rs_pbwire.h straight into the generated
 * structs (arena memory), and leaves every other field of RankRequest and CandidatesResponse
 * to protobuf-c.
 *
 * The result is what protobuf_c_message_unpack gives for the same bytes (tests compare the
 * two field by field), except that unknown fields inside a Candidate or SourceScore are
 * skipped, not kept, and that the SourceScores' source names (a handful of distinct strings
 * over a few hundred candidates) are copied once per request and shared, read-only. Input
 * protobuf-c rejects is rejected: a known field with another wire type, truncated or malformed
 * fields, packed arrays of a broken length. A body that names retrieval more than once (protobuf
 * merges the copies) goes to protobuf-c whole. */
#ifndef RANK_RANKWIRE_H
#define RANK_RANKWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ranking.pb-c.h"
#include "rs_arena.h"

/* rank_wire_unpack: the RankRequest in body[0..len), in arena a. 0 and *out, or RS_EPROTO
 * (not a valid RankRequest) or RS_ENOMEM. */
int rank_wire_unpack(const uint8_t *body, size_t len, rs_arena *a, Rs__RankRequest **out);

#endif
