/* tsan_criterion: lets Criterion's runner start under ThreadSanitizer (linked into every
 * Criterion binary of a `-DRS_SANITIZE=thread` build only: cmake/RsHelpers.cmake).
 *
 * Criterion 2.4 (BoxFort) puts its "inheritable arena", shared memory its test processes map
 * at the same address, at a random address in [0x2000'0000'0000, 0x7f00'0000'0000): it probes
 * pages with mincore(), then maps with MAP_FIXED. Under ThreadSanitizer that range is the
 * sanitizer's shadow and meta memory: the probe finds it taken on every try, or TSan refuses a
 * fixed mapping outside application memory, and the runner aborts ("Could not initialize
 * inheritable arena: Resource temporarily unavailable", Criterion issue #274, open since 2018).
 * These two definitions take precedence over libc's (and TSan's interceptors, which they call
 * through RTLD_NEXT) for Criterion's calls:
 *  - mincore() in that range, outside TSan's application window for PIE binaries used below,
 *    answers "nothing mapped" (ENOMEM), so the probe accepts its first candidate;
 *  - a MAP_FIXED mmap64() at such a candidate is moved into [ARENA_WIN_LO, ARENA_WIN_HI), part
 *    of TSan's x86_64 application range for PIE binaries (0x5500'0000'0000..0x5680'0000'0000),
 *    with MAP_FIXED_NOREPLACE so nothing mapped there is replaced. BoxFort accepts any address
 *    in its range and hands it to the test processes, which map it with MAP_FIXED at the same
 *    (now application) address.
 * Calls outside that range (the code under test, LMDB, libpq...) pass through unchanged. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#define ARENA_LO     UINT64_C(0x200000000000) /* BoxFort's range */
#define ARENA_HI     UINT64_C(0x7f0000000000)
#define ARENA_WIN_LO UINT64_C(0x560000000000) /* inside TSan's PIE application range */
#define ARENA_WIN_HI UINT64_C(0x567000000000)

typedef void *(*tc_mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*tc_mincore_fn)(void *, size_t, unsigned char *);

static int
tc_moved(uint64_t a, size_t len)
{
	return a >= ARENA_LO && a < ARENA_HI && !(a >= ARENA_WIN_LO && a + len <= ARENA_WIN_HI);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int mincore(void *addr, size_t len, unsigned char *vec);

void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static tc_mmap_fn real;
	if (real == NULL)
		*(void **) &real = dlsym(RTLD_NEXT, "mmap64");
	uint64_t a = (uint64_t) (uintptr_t) addr;
	if (!(flags & MAP_FIXED) || !tc_moved(a, len) || len >= ARENA_WIN_HI - ARENA_WIN_LO)
		return real(addr, len, prot, flags, fd, off);
	uint64_t span = ARENA_WIN_HI - ARENA_WIN_LO - len;
	for (uint64_t i = 0; i < 64; i++) {
		uint64_t b =
		        (ARENA_WIN_LO + ((a - ARENA_LO) + i * UINT64_C(0x10000000000)) % span) &
		        ~UINT64_C(0xfff);
		void *p = real((void *) (uintptr_t) b, len, prot,
		               (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE, fd, off);
		if (p != MAP_FAILED)
			return p;
	}
	errno = ENOMEM;
	return MAP_FAILED;
}

int
mincore(void *addr, size_t len, unsigned char *vec)
{
	static tc_mincore_fn real;
	if (real == NULL)
		*(void **) &real = dlsym(RTLD_NEXT, "mincore");
	if (tc_moved((uint64_t) (uintptr_t) addr, len)) {
		errno = ENOMEM; /* "nothing mapped here": mmap64 above finds the room */
		return -1;
	}
	return real(addr, len, vec);
}
