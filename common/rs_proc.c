#include "rs_proc.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* The signal may arrive on any thread (a library's worker as well as main), so the flag is a
 * C11 atomic rather than a volatile sig_atomic_t, which is only safe within one thread; a
 * lock-free atomic is async-signal-safe. */
static atomic_int proc_stop;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free to be set in a handler");

static void
proc_on_signal(int sig)
{
	(void) sig;
	if (atomic_fetch_add(&proc_stop, 1) + 1 >= 3)
		_exit(1);
}

void
rs_proc_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
rs_proc_stop_requested(void)
{
	return atomic_load(&proc_stop) != 0;
}

void
rs_proc_request_stop(void)
{
	atomic_store(&proc_stop, 1);
}

void
rs_proc_random_id(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[64];
	size_t want = (n - 1 + 1) / 2;

	if (n < 2)
		return;
	if (want > sizeof(raw))
		want = sizeof(raw);
	if (getrandom(raw, want, 0) != (ssize_t) want) {
		/* getrandom only fails before the pool is seeded; ids need not be secret. */
		uintptr_t x = (uintptr_t) buf ^ (uintptr_t) getpid();
		for (size_t i = 0; i < want; i++)
			raw[i] = (uint8_t) (x >> (i % 8) * 8) ^ (uint8_t) i;
	}
	size_t o = 0;
	for (size_t i = 0; i < want && o + 1 < n; i++) {
		buf[o++] = hex[raw[i] >> 4];
		if (o + 1 < n)
			buf[o++] = hex[raw[i] & 15];
	}
	buf[o] = '\0';
}
