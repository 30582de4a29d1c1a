/* fuzz: what the libFuzzer targets of tests/fuzz share. Each target is one
 * LLVMFuzzerTestOneInput; FUZZ_CHECK turns a broken property into a crash libFuzzer reports
 * (and scripts/fuzz.sh fails on), like a sanitizer finding. Header-only. */
#ifndef RS_FUZZ_H
#define RS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                            \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* fuzz_cstr: data as a NUL-terminated malloc'd string (cut at its first NUL, as C code that
 * receives a string sees it). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* fuzz_file: data in an anonymous in-memory file; *path names it for fopen
 * ("/proc/self/fd/N"). Returns the fd (close it when done). */
static inline int
fuzz_file(const uint8_t *data, size_t size, char *path, size_t pathn)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t) w;
	}
	snprintf(path, pathn, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
