#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs_err.h"
#include "spool.h"

static char dir[128];

static void
sp_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rs-spool-test-%d", (int) getpid());
}

static void
sp_teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(spool, .init = sp_setup, .fini = sp_teardown, .timeout = 10);

static void
expect_next(ing_spool *sp, const char *want)
{
	const uint8_t *d;
	size_t n;
	cr_assert_eq(ing_spool_peek(sp, &d, &n), 0);
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(d, want, n) == 0, "got %.*s want %s", (int) n, (const char *) d, want);
	cr_assert_eq(ing_spool_pop(sp), 0);
}

Test(spool, records_survive_reopen_in_order_and_rotate)
{
	ing_spool *sp;
	char rec[32];
	cr_assert_eq(ing_spool_open(&sp, dir, 64), 0); /* tiny segments force rotation */
	for (int i = 0; i < 10; i++) {
		snprintf(rec, sizeof(rec), "record-%02d-xxxxxxxxxxxxxxxx", i);
		cr_assert_eq(ing_spool_append(sp, rec, strlen(rec)), 0);
	}
	cr_assert_eq(ing_spool_pending(sp), 10);
	ing_spool_close(sp);
	cr_assert_eq(ing_spool_open(&sp, dir, 64), 0);
	cr_assert_eq(ing_spool_pending(sp), 10);
	for (int i = 0; i < 4; i++) {
		snprintf(rec, sizeof(rec), "record-%02d-xxxxxxxxxxxxxxxx", i);
		expect_next(sp, rec);
	}
	ing_spool_close(sp);
	/* Popped records of fully consumed segments are gone; the rest (at least) remain. */
	cr_assert_eq(ing_spool_open(&sp, dir, 64), 0);
	cr_assert_geq(ing_spool_pending(sp), 6);
	cr_assert_leq(ing_spool_pending(sp), 10);
	const uint8_t *d;
	size_t n;
	while (ing_spool_pending(sp) > 6) /* re-delivered, at-least-once */
		cr_assert_eq(ing_spool_peek(sp, &d, &n) || ing_spool_pop(sp), 0);
	for (int i = 4; i < 10; i++) {
		snprintf(rec, sizeof(rec), "record-%02d-xxxxxxxxxxxxxxxx", i);
		expect_next(sp, rec);
	}
	cr_assert_eq(ing_spool_peek(sp, &d, &n), RS_ENOTFOUND);
	cr_assert_eq(ing_spool_pending(sp), 0);
	ing_spool_close(sp);
}

Test(spool, torn_tail_is_truncated_and_appends_continue)
{
	ing_spool *sp;
	char path[256];
	cr_assert_eq(ing_spool_open(&sp, dir, 0), 0);
	cr_assert_eq(ing_spool_append(sp, "one", 3), 0);
	cr_assert_eq(ing_spool_append(sp, "two", 3), 0);
	ing_spool_close(sp);
	/* A crash in the middle of the third append: header and half a payload. */
	snprintf(path, sizeof(path), "%s/spool-0000000000000001.log", dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0);
	const uint8_t torn[] = {0x52, 0x53, 0x50, 0x31, 10, 0, 0, 0, 1, 2, 3, 4, 't', 'h'};
	cr_assert_eq(write(fd, torn, sizeof(torn)), (ssize_t) sizeof(torn));
	close(fd);
	cr_assert_eq(ing_spool_open(&sp, dir, 0), 0);
	cr_assert_eq(ing_spool_pending(sp), 2);
	cr_assert_eq(ing_spool_append(sp, "three", 5), 0);
	expect_next(sp, "one");
	expect_next(sp, "two");
	expect_next(sp, "three");
	ing_spool_close(sp);
}

Test(spool, a_spool_directory_has_one_owner)
{
	ing_spool *a, *b;
	cr_assert_eq(ing_spool_open(&a, dir, 0), 0);
	cr_assert_eq(ing_spool_open(&b, dir, 0), RS_EBUSY);
	ing_spool_close(a);
	cr_assert_eq(ing_spool_open(&b, dir, 0), 0);
	ing_spool_close(b);
}

/* A segment written byte by byte as the format says (the CRC-32 values are the standard check
 * values, independent of the code under test): records of spools written by earlier builds read
 * back, a record whose checksum does not match is a torn tail, and a new record is written with
 * the same bytes. */
static const uint8_t rec_digits[] = {'R',  'S', 'P', '1', 9,   0,   0,   0,   0x26, 0x39, 0xf4,
                                     0xcb, '1', '2', '3', '4', '5', '6', '7', '8',  '9'};
static const char fox[] = "The quick brown fox jumps over the lazy dog";

static void
write_file(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "open %s", path);
	cr_assert_eq(write(fd, a, na), (ssize_t) na);
	if (nb > 0)
		cr_assert_eq(write(fd, b, nb), (ssize_t) nb);
	close(fd);
}

Test(spool, segments_in_the_documented_format_read_back)
{
	ing_spool *sp;
	char path[256];
	uint8_t fox_rec[12 + sizeof(fox) - 1] = {'R',  'S',  'P',  '1', sizeof(fox) - 1, 0, 0, 0,
	                                         0x39, 0xa3, 0x4f, 0x41};
	memcpy(fox_rec + 12, fox, sizeof(fox) - 1);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/spool-0000000000000001.log", dir);
	write_file(path, rec_digits, sizeof(rec_digits), fox_rec, sizeof(fox_rec));
	cr_assert_eq(ing_spool_open(&sp, dir, 0), 0);
	cr_assert_eq(ing_spool_pending(sp), 2);
	expect_next(sp, "123456789");
	expect_next(sp, fox);
	ing_spool_close(sp);

	/* One bit of the checksum wrong: the record is not returned. */
	fox_rec[8] ^= 1;
	write_file(path, rec_digits, sizeof(rec_digits), fox_rec, sizeof(fox_rec));
	cr_assert_eq(ing_spool_open(&sp, dir, 0), 0);
	cr_assert_eq(ing_spool_pending(sp), 1);
	expect_next(sp, "123456789");
	const uint8_t *d;
	size_t n;
	cr_assert_eq(ing_spool_peek(sp, &d, &n), RS_ENOTFOUND);
	ing_spool_close(sp);
}

Test(spool, append_writes_the_documented_bytes)
{
	ing_spool *sp;
	char path[256];
	uint8_t got[64];
	cr_assert_eq(ing_spool_open(&sp, dir, 0), 0);
	cr_assert_eq(ing_spool_append(sp, "123456789", 9), 0);
	ing_spool_close(sp);
	snprintf(path, sizeof(path), "%s/spool-0000000000000001.log", dir);
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s", path);
	ssize_t n = read(fd, got, sizeof(got));
	close(fd);
	cr_assert_eq(n, (ssize_t) sizeof(rec_digits));
	cr_assert(memcmp(got, rec_digits, sizeof(rec_digits)) == 0);
}
