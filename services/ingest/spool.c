#include "spool.h"
#include "rs_err.h"
#include "rs_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_MAGIC   0x31505352u /* "RSP1" little-endian */
#define SPOOL_HDR     12
#define SPOOL_MAX_REC (256u << 20)

struct ing_spool {
	char sp_dir[512];
	size_t sp_segbytes;
	uint64_t *sp_segs; /* sequence numbers of existing segments, ascending */
	size_t sp_nsegs, sp_capsegs;
	int sp_lockfd;     /* flock'ed spool.lock: one process per spool directory */
	int sp_wfd;        /* append fd of the last segment, -1 if none open */
	uint64_t sp_wsize; /* its size */
	int sp_rfd;        /* read fd of the first segment, -1 if none open */
	uint64_t sp_roff;  /* offset of the next unread record in the first segment */
	uint64_t sp_rnext; /* offset after the peeked record, 0 if none peeked */
	uint8_t *sp_buf;
	size_t sp_bufcap;
	uint64_t sp_pending;
};

/* The record checksum: zlib's CRC-32 (IEEE 802.3). A record is at most SPOOL_MAX_REC bytes,
 * which fits zlib's uInt length. */
_Static_assert(SPOOL_MAX_REC <= UINT_MAX, "a record's length must fit zlib's uInt");

static uint32_t
spool_crc32(const uint8_t *p, size_t n)
{
	return (uint32_t) crc32(crc32(0L, Z_NULL, 0), p, (uInt) n);
}

static void
spool_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static uint32_t
spool_get32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
	       (uint32_t) p[3] << 24;
}

static void
spool_path(const ing_spool *sp, uint64_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "%s/spool-%016" PRIu64 ".log", sp->sp_dir, seq);
}

static int
spool_fsync_dir(const ing_spool *sp)
{
	int fd = open(sp->sp_dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return RS_EIO;
	int rv = fsync(fd) == 0 ? 0 : RS_EIO;
	close(fd);
	return rv;
}

static int
spool_reserve(ing_spool *sp, size_t n)
{
	if (n <= sp->sp_bufcap)
		return 0;
	size_t cap = sp->sp_bufcap ? sp->sp_bufcap : 65536;
	while (cap < n)
		cap *= 2;
	uint8_t *b = realloc(sp->sp_buf, cap);
	if (b == NULL)
		return RS_ENOMEM;
	sp->sp_buf = b;
	sp->sp_bufcap = cap;
	return 0;
}

static int
spool_read_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *) buf + got, n - got, (off_t) (off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? RS_ENOTFOUND : RS_EIO;
		got += (size_t) r;
	}
	return 0;
}

/* Reads the record at off of fd into sp_buf. 0 and *len, RS_ENOTFOUND at a clean end,
 * RS_ECORRUPT for a torn/corrupt record, RS_EIO. */
static int
spool_read_rec(ing_spool *sp, int fd, uint64_t off, size_t *len)
{
	uint8_t hdr[SPOOL_HDR];
	int rv = spool_read_full(fd, hdr, sizeof(hdr), off);
	if (rv == RS_ENOTFOUND) {
		struct stat st;
		if (fstat(fd, &st) == 0 && (uint64_t) st.st_size == off)
			return RS_ENOTFOUND;
		return RS_ECORRUPT;
	}
	if (rv != 0)
		return rv;
	uint32_t n = spool_get32(hdr + 4);
	if (spool_get32(hdr) != SPOOL_MAGIC || n > SPOOL_MAX_REC)
		return RS_ECORRUPT;
	if ((rv = spool_reserve(sp, n ? n : 1)) != 0)
		return rv;
	rv = spool_read_full(fd, sp->sp_buf, n, off + SPOOL_HDR);
	if (rv == RS_ENOTFOUND)
		return RS_ECORRUPT;
	if (rv != 0)
		return rv;
	if (spool_crc32(sp->sp_buf, n) != spool_get32(hdr + 8))
		return RS_ECORRUPT;
	*len = n;
	return 0;
}

static int
spool_seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

/* Scans one segment: counts its records and truncates a bad tail. */
static int
spool_scan(ing_spool *sp, uint64_t seq)
{
	char path[600];
	spool_path(sp, seq, path, sizeof(path));
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return RS_EIO;
	uint64_t off = 0;
	size_t len;
	int rv;
	while ((rv = spool_read_rec(sp, fd, off, &len)) == 0) {
		off += SPOOL_HDR + len;
		sp->sp_pending++;
	}
	if (rv == RS_ECORRUPT) {
		rs_log_warn("ingest.spool_tail_truncated", "segment=%s offset=%" PRIu64, path, off);
		if (ftruncate(fd, (off_t) off) != 0 || fsync(fd) != 0)
			rv = RS_EIO;
		else
			rv = RS_ENOTFOUND;
	}
	close(fd);
	return rv == RS_ENOTFOUND ? 0 : rv;
}

int
ing_spool_open(ing_spool **out, const char *dir, size_t segment_bytes)
{
	ing_spool *sp;
	DIR *d;
	struct dirent *de;
	int rv = 0;

	if (strlen(dir) >= sizeof(sp->sp_dir))
		return RS_EINVAL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return RS_ENOMEM;
	snprintf(sp->sp_dir, sizeof(sp->sp_dir), "%s", dir);
	sp->sp_segbytes = segment_bytes ? segment_bytes : (64u << 20);
	sp->sp_wfd = sp->sp_rfd = sp->sp_lockfd = -1;
	/* mkdir -p */
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
		rs_log_error("ingest.spool_open_failed", "dir=%s err=\"%s\"", dir, strerror(errno));
		free(sp);
		return RS_EIO;
	}
	snprintf(tmp, sizeof(tmp), "%s/spool.lock", dir);
	if ((sp->sp_lockfd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    flock(sp->sp_lockfd, LOCK_EX | LOCK_NB) != 0) {
		rs_log_error("ingest.spool_open_failed", "dir=%s err=\"%s\"", dir,
		             errno == EWOULDBLOCK ? "spool directory in use by another process"
		                                  : strerror(errno));
		ing_spool_close(sp);
		return RS_EBUSY;
	}
	if ((d = opendir(dir)) == NULL) {
		rs_log_error("ingest.spool_open_failed", "dir=%s err=\"%s\"", dir, strerror(errno));
		ing_spool_close(sp);
		return RS_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		char tail[8];
		if (sscanf(de->d_name, "spool-%16" SCNu64 ".%4s", &seq, tail) != 2 ||
		    strcmp(tail, "log") != 0)
			continue;
		if (sp->sp_nsegs == sp->sp_capsegs) {
			size_t cap = sp->sp_capsegs ? sp->sp_capsegs * 2 : 16;
			uint64_t *s = realloc(sp->sp_segs, cap * sizeof(*s));
			if (s == NULL) {
				rv = RS_ENOMEM;
				break;
			}
			sp->sp_segs = s;
			sp->sp_capsegs = cap;
		}
		sp->sp_segs[sp->sp_nsegs++] = seq;
	}
	closedir(d);
	if (rv == 0 && sp->sp_nsegs > 0)
		qsort(sp->sp_segs, sp->sp_nsegs, sizeof(*sp->sp_segs), spool_seq_cmp);
	for (size_t i = 0; rv == 0 && i < sp->sp_nsegs; i++)
		rv = spool_scan(sp, sp->sp_segs[i]);
	if (rv != 0) {
		ing_spool_close(sp);
		return rv;
	}
	if (sp->sp_pending > 0)
		rs_log_info("ingest.spool_found", "dir=%s segments=%zu records=%" PRIu64, dir,
		            sp->sp_nsegs, sp->sp_pending);
	*out = sp;
	return 0;
}

void
ing_spool_close(ing_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->sp_wfd >= 0)
		close(sp->sp_wfd);
	if (sp->sp_rfd >= 0)
		close(sp->sp_rfd);
	if (sp->sp_lockfd >= 0)
		close(sp->sp_lockfd); /* releases the flock */
	free(sp->sp_segs);
	free(sp->sp_buf);
	free(sp);
}

static int
spool_push_seg(ing_spool *sp, uint64_t seq)
{
	if (sp->sp_nsegs == sp->sp_capsegs) {
		size_t cap = sp->sp_capsegs ? sp->sp_capsegs * 2 : 16;
		uint64_t *s = realloc(sp->sp_segs, cap * sizeof(*s));
		if (s == NULL)
			return RS_ENOMEM;
		sp->sp_segs = s;
		sp->sp_capsegs = cap;
	}
	sp->sp_segs[sp->sp_nsegs++] = seq;
	return 0;
}

/* Opens the last segment for appending, or a new one when there is none or it is full. */
static int
spool_open_writer(ing_spool *sp)
{
	char path[600];
	struct stat st;
	if (sp->sp_wfd >= 0 && sp->sp_wsize < sp->sp_segbytes)
		return 0;
	if (sp->sp_wfd >= 0) {
		close(sp->sp_wfd);
		sp->sp_wfd = -1;
	}
	if (sp->sp_nsegs > 0 && sp->sp_wfd < 0) {
		spool_path(sp, sp->sp_segs[sp->sp_nsegs - 1], path, sizeof(path));
		if (stat(path, &st) == 0 && (uint64_t) st.st_size < sp->sp_segbytes) {
			int fd = open(path, O_WRONLY | O_APPEND);
			if (fd < 0)
				return RS_EIO;
			sp->sp_wfd = fd;
			sp->sp_wsize = (uint64_t) st.st_size;
			return 0;
		}
	}
	uint64_t seq = sp->sp_nsegs > 0 ? sp->sp_segs[sp->sp_nsegs - 1] + 1 : 1;
	spool_path(sp, seq, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		rs_log_error("ingest.spool_write_failed", "path=%s err=\"%s\"", path,
		             strerror(errno));
		return RS_EIO;
	}
	int rv = spool_fsync_dir(sp);
	if (rv == 0)
		rv = spool_push_seg(sp, seq);
	if (rv != 0) {
		close(fd);
		unlink(path);
		return rv;
	}
	sp->sp_wfd = fd;
	sp->sp_wsize = 0;
	return 0;
}

int
ing_spool_append(ing_spool *sp, const void *data, size_t len)
{
	uint8_t hdr[SPOOL_HDR];
	int rv;

	if (len > SPOOL_MAX_REC)
		return RS_ETOOBIG;
	if ((rv = spool_open_writer(sp)) != 0)
		return rv;
	spool_put32(hdr, SPOOL_MAGIC);
	spool_put32(hdr + 4, (uint32_t) len);
	spool_put32(hdr + 8, spool_crc32(data, len));
	struct spool_part {
		const void *b;
		size_t n;
	} parts[2] = {{hdr, sizeof(hdr)}, {data, len}};
	size_t written = 0;
	for (int i = 0; i < 2; i++) {
		size_t done = 0;
		while (done < parts[i].n) {
			ssize_t w = write(sp->sp_wfd, (const uint8_t *) parts[i].b + done,
			                  parts[i].n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			done += (size_t) w;
			written += (size_t) w;
		}
	}
	if (fdatasync(sp->sp_wfd) != 0)
		goto fail;
	sp->sp_wsize += written;
	sp->sp_pending++;
	return 0;
fail:
	rs_log_error("ingest.spool_write_failed", "dir=%s err=\"%s\"", sp->sp_dir, strerror(errno));
	/* Cut the partial record off so the next append starts on a record boundary. */
	if (ftruncate(sp->sp_wfd, (off_t) sp->sp_wsize) != 0) {
		close(sp->sp_wfd);
		sp->sp_wfd = -1;
	}
	return RS_EIO;
}

int
ing_spool_peek(ing_spool *sp, const uint8_t **data, size_t *len)
{
	char path[600];
	int rv;

	for (;;) {
		if (sp->sp_nsegs == 0)
			return RS_ENOTFOUND;
		if (sp->sp_rfd < 0) {
			spool_path(sp, sp->sp_segs[0], path, sizeof(path));
			if ((sp->sp_rfd = open(path, O_RDONLY)) < 0)
				return RS_EIO;
			sp->sp_roff = 0;
		}
		rv = spool_read_rec(sp, sp->sp_rfd, sp->sp_roff, len);
		if (rv == 0) {
			*data = sp->sp_buf;
			sp->sp_rnext = sp->sp_roff + SPOOL_HDR + *len;
			return 0;
		}
		if (rv != RS_ENOTFOUND) {
			if (rv == RS_ECORRUPT)
				rs_log_error("ingest.spool_corrupt",
				             "segment=%" PRIu64 " offset=%" PRIu64, sp->sp_segs[0],
				             sp->sp_roff);
			return rv == RS_ECORRUPT ? RS_EIO : rv;
		}
		/* This segment is fully consumed: remove it (the writer starts a new one). */
		close(sp->sp_rfd);
		sp->sp_rfd = -1;
		if (sp->sp_nsegs == 1 && sp->sp_wfd >= 0) {
			close(sp->sp_wfd);
			sp->sp_wfd = -1;
		}
		spool_path(sp, sp->sp_segs[0], path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			return RS_EIO;
		spool_fsync_dir(sp);
		memmove(sp->sp_segs, sp->sp_segs + 1, (sp->sp_nsegs - 1) * sizeof(*sp->sp_segs));
		sp->sp_nsegs--;
	}
}

int
ing_spool_pop(ing_spool *sp)
{
	if (sp->sp_rnext == 0)
		return RS_EINVAL;
	sp->sp_roff = sp->sp_rnext;
	sp->sp_rnext = 0;
	if (sp->sp_pending > 0)
		sp->sp_pending--;
	if (sp->sp_pending == 0) {
		/* Everything consumed: drop the files now rather than on the next peek. */
		const uint8_t *d;
		size_t n;
		(void) ing_spool_peek(sp, &d, &n);
	}
	return 0;
}

uint64_t
ing_spool_pending(const ing_spool *sp)
{
	return sp->sp_pending;
}

int
ing_spool_writable(const ing_spool *sp)
{
	return access(sp->sp_dir, W_OK) == 0;
}
