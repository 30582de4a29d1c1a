/* md5: RFC 1321 digest, for the input fingerprint split.json records (as split.py does). */
#ifndef TR_MD5_H
#define TR_MD5_H

#include <stddef.h>

/* tr_md5_hex: 32 lowercase hex digits + NUL into out[33]. */
void tr_md5_hex(const void *data, size_t n, char out[33]);

#endif
