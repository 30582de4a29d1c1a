/* util: small parsers shared by the handlers. */
#ifndef GW_UTIL_H
#define GW_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

/* gw_parse_id: a positive decimal int64 with no sign, spaces or leading zeros beyond "0".
 * Returns 0 or RS_EINVAL. */
int gw_parse_id(const char *s, int64_t *out);

/* gw_query_int: query argument key as an int in [lo, hi], dflt when absent. On a bad value
 * it writes a 400 JSON error to req and returns RS_EINVAL. */
int gw_query_int(gw_req *req, const char *key, int lo, int hi, int dflt, int *out);

/* gw_query_flag: "1", "true", "yes" -> 1; absent, "0", "false", "no" -> 0; else -1. */
int gw_query_flag(gw_req *req, const char *key);

/* gw_parse_iso8601: "2026-11-28T10:00:00Z", with optional ".fff" fraction and "+hh:mm" /
 * "-hh:mm" offset ('T' or ' ' between date and time) -> unix ms. Returns 0 or RS_EINVAL. */
int gw_parse_iso8601(const char *s, int64_t *out_ms);

#endif
