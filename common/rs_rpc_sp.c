/* rs_rpc_sp: SP (REQ0/REP0) over plain sockets; see rs_rpc_sp.h.
 *
 * Wire format (the same as NNG's tcp and ipc transports):
 *   handshake, both sides at once: 0x00 'S' 'P' 0x00, protocol (16-bit big endian: REQ0 0x30,
 *     REP0 0x31), 0x00 0x00;
 *   message: [ipc only: 0x01] 64-bit big-endian length, then the SP header (REQ0: the 32-bit
 *     request id with its high bit set; a reply echoes the request's header words) and body. */
#include "rs_rpc_sp.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_time.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define SP_PROTO_REQ     0x30
#define SP_PROTO_REP     0x31
#define SP_MAX_MSG       RPC_SP_MAX_MSG
#define SP_FRAME_CHUNK   (64u << 10) /* a connection's first request buffer */
#define SP_MAX_HOPS      8           /* header words a reply may echo (NNG's default TTL) */
#define SP_SEND_MS       2000        /* a reply that cannot be written in this time is dropped */
#define SP_RECV_SLICE_MS 50   /* a call connection's SO_RCVTIMEO: how long one recv may wait */
#define SP_REPLY_GUESS   4096 /* a call connection's first reply buffer */
#define SP_GUESS_MAX     (256u << 10) /* the largest reply buffer allocated before the prefix */
#define SP_CONNECT_MS    1000         /* the monitor's connection attempts */
#define SP_BACKOFF_MIN   20
#define SP_BACKOFF_MAX   500
#define SP_IDLE_MAX      64  /* idle client connections kept */
#define SP_BACKLOG       128 /* connections the kernel holds while the server is at its cap */

/* ---- addresses ---------------------------------------------------------------------------- */

typedef struct sp_addr {
	int a_ipc;
	int a_family; /* AF_UNSPEC, AF_INET or AF_INET6 for tcp */
	char a_host[256];
	char a_port[16];
	char a_path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
} sp_addr;

int
rpc_sp_handles(const char *url)
{
	return url != NULL && (strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tcp4://", 7) == 0 ||
	                       strncmp(url, "tcp6://", 7) == 0 || strncmp(url, "ipc://", 6) == 0);
}

static int
sp_parse(const char *url, sp_addr *a)
{
	const char *rest;

	memset(a, 0, sizeof(*a));
	if (strncmp(url, "ipc://", 6) == 0) {
		rest = url + 6;
		if (rest[0] == '\0' || strlen(rest) >= sizeof(a->a_path))
			return RS_EINVAL;
		a->a_ipc = 1;
		memcpy(a->a_path, rest, strlen(rest) + 1);
		return 0;
	}
	if (strncmp(url, "tcp://", 6) == 0) {
		a->a_family = AF_UNSPEC;
		rest = url + 6;
	} else if (strncmp(url, "tcp4://", 7) == 0) {
		a->a_family = AF_INET;
		rest = url + 7;
	} else if (strncmp(url, "tcp6://", 7) == 0) {
		a->a_family = AF_INET6;
		rest = url + 7;
	} else {
		return RS_EINVAL;
	}
	const char *colon, *host = rest;
	size_t hl;
	if (rest[0] == '[') {
		const char *end = strchr(rest, ']');
		if (end == NULL || end[1] != ':')
			return RS_EINVAL;
		host = rest + 1;
		hl = (size_t) (end - host);
		colon = end + 1;
	} else {
		if ((colon = strrchr(rest, ':')) == NULL)
			return RS_EINVAL;
		hl = (size_t) (colon - rest);
	}
	const char *port = colon + 1;
	if (hl >= sizeof(a->a_host) || port[0] == '\0' || strlen(port) >= sizeof(a->a_port) ||
	    strspn(port, "0123456789") != strlen(port))
		return RS_EINVAL;
	memcpy(a->a_host, host, hl);
	a->a_host[hl] = '\0';
	if (strcmp(a->a_host, "*") == 0)
		a->a_host[0] = '\0';
	memcpy(a->a_port, port, strlen(port) + 1);
	return 0;
}

/* ---- socket helpers ----------------------------------------------------------------------- */

static void
sp_handshake_bytes(uint8_t b[8], int proto)
{
	b[0] = 0;
	b[1] = 'S';
	b[2] = 'P';
	b[3] = 0;
	b[4] = (uint8_t) (proto >> 8);
	b[5] = (uint8_t) proto;
	b[6] = 0;
	b[7] = 0;
}

static int
sp_handshake_ok(const uint8_t b[8], int want_proto)
{
	return b[0] == 0 && b[1] == 'S' && b[2] == 'P' && b[3] == 0 && b[6] == 0 && b[7] == 0 &&
	       ((b[4] << 8) | b[5]) == want_proto;
}

static void
sp_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

static uint64_t
sp_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
sp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
sp_get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

int
rpc_sp_frame_len(const uint8_t *pre, int ipc, uint64_t *n)
{
	if (ipc && pre[0] != 1)
		return RS_EPROTO;
	*n = sp_get64(pre + (ipc ? 1 : 0));
	return *n < 4 || *n > SP_MAX_MSG ? RS_EPROTO : 0;
}

size_t
rpc_sp_header_len(const uint8_t *msg, size_t n)
{
	/* The SP header: words up to and including the one with the high bit set. */
	for (size_t hl = 0; hl + 4 <= n && hl / 4 < SP_MAX_HOPS;) {
		uint32_t w = sp_get32(msg + hl);
		hl += 4;
		if (w & 0x80000000u)
			return hl;
	}
	return 0;
}

/* Waits until fd is ready for events or deadline (monotonic ms; < 0 = none) passes.
 * Returns 0, RS_ETIMEDOUT or RS_EIO. */
static int
sp_wait(int fd, short events, double deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			double left = deadline - rs_mono_ms();
			if (left <= 0)
				return RS_ETIMEDOUT;
			ms = (int) left + 1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			continue; /* re-check the deadline */
		if (errno != EINTR)
			return RS_EIO;
	}
}

/* Reads exactly n bytes. Blocking sockets: deadline < 0; non-blocking ones wait in poll.
 * Returns 0, RS_ECLOSED (EOF before the first byte), RS_EIO, RS_ETIMEDOUT. */
static int
sp_read(int fd, void *buf, size_t n, double deadline)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, 0);
		if (r > 0) {
			got += (size_t) r;
			continue;
		}
		if (r == 0)
			return got == 0 ? RS_ECLOSED : RS_EIO;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rv = sp_wait(fd, POLLIN, deadline);
			if (rv != 0)
				return rv;
			continue;
		}
		return got == 0 && (errno == ECONNRESET) ? RS_ECLOSED : RS_EIO;
	}
	return 0;
}

/* Writes every byte of iov (modified), one sendmsg when the socket buffer has room; waits in
 * poll (deadline < 0: none) only when it is full. Returns 0, RS_ECLOSED (peer gone before
 * anything was written), RS_EIO, RS_ETIMEDOUT. */
static int
sp_writev(int fd, struct iovec *iov, int niov, double deadline)
{
	size_t sent = 0;
	while (niov > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t) niov};
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int rv = sp_wait(fd, POLLOUT, deadline);
				if (rv != 0)
					return rv;
				continue;
			}
			return sent == 0 && (errno == EPIPE || errno == ECONNRESET) ? RS_ECLOSED
			                                                            : RS_EIO;
		}
		sent += (size_t) w;
		size_t left = (size_t) w;
		while (niov > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *) iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static void
sp_nodelay(int fd, const sp_addr *a)
{
	int one = 1;
	if (!a->a_ipc)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- server ------------------------------------------------------------------------------- */

typedef struct sp_conn {
	struct sp_conn *k_next;
	struct rpc_sp_server *k_srv;
	int k_fd;
	pthread_t k_thread;
	atomic_int k_done;
	rs_arena *k_arena;
	uint8_t *k_buf; /* received bytes: the message being handled first, then any that follow */
	size_t k_len;   /* bytes in k_buf */
	size_t k_cap;
} sp_conn;

struct rpc_sp_server {
	sp_addr s_addr;
	int s_fd;
	int s_port;     /* the bound TCP port (0 for ipc) */
	int s_wake[2];  /* close writes to s_wake[1] to stop the accept thread */
	int s_freed[2]; /* a connection thread that ends writes to s_freed[1] */
	pthread_t s_accept;
	int s_accept_started;
	sem_t s_slots; /* `workers` handlers at once */
	int s_max_conns;
	atomic_int s_nconns; /* connections with a thread (accepted, not yet joined) */
	rpc_sp_handler s_fn;
	void *s_ud;
	pthread_mutex_t s_lock; /* s_conns */
	sp_conn *s_conns;
	atomic_int s_stop;
	rs_metric *s_m_conns, *s_m_full; /* rs_rpc_connections, rs_rpc_connections_full_total */
};

static void
sp_conn_free(sp_conn *k)
{
	if (k->k_fd >= 0)
		close(k->k_fd);
	rs_arena_destroy(k->k_arena);
	free(k->k_buf);
	free(k);
}

/* Receives until k's buffer holds `want` bytes: each recv takes whatever has arrived that fits,
 * so a request usually costs one system call for its prefix and body together, and bytes of a
 * next message (a peer may send it before this one is answered) stay for the next round. The
 * buffer grows with the bytes that arrive (at most doubling) rather than with what a length
 * prefix claims: a peer that announces the largest frame (RPC_SP_MAX_MSG) and sends little
 * holds little memory. Blocking. Returns 0, RS_ECLOSED (the peer left between messages),
 * RS_EIO, RS_ENOMEM. */
static int
sp_fill(sp_conn *k, size_t want)
{
	while (k->k_len < want) {
		if (k->k_len == k->k_cap) {
			size_t cap = SP_FRAME_CHUNK;
			if (k->k_cap >= SP_FRAME_CHUNK)
				cap = 2 * k->k_cap > want ? want : 2 * k->k_cap;
			uint8_t *nb = realloc(k->k_buf, cap);
			if (nb == NULL)
				return RS_ENOMEM;
			k->k_buf = nb;
			k->k_cap = cap;
		}
		ssize_t r = recv(k->k_fd, k->k_buf + k->k_len, k->k_cap - k->k_len, 0);
		if (r > 0) {
			k->k_len += (size_t) r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (k->k_len == 0 && (r == 0 || errno == ECONNRESET))
			return RS_ECLOSED;
		return RS_EIO;
	}
	return 0;
}

/* One connection: handshake, then request -> handler -> reply until the peer leaves or the
 * server closes (which shuts the read side, so a request being handled is still answered).
 * Per request: one recv (more for a request larger than what arrived at once) and one
 * sendmsg. */
static void *
sp_conn_main(void *arg)
{
	sp_conn *k = arg;
	rpc_sp_server *s = k->k_srv;
	int ipc = s->s_addr.a_ipc;
	uint8_t hs[8], pre[9];
	size_t plen = ipc ? 9 : 8;

	sp_handshake_bytes(hs, SP_PROTO_REP);
	struct iovec hv = {hs, sizeof(hs)};
	if (sp_writev(k->k_fd, &hv, 1, -1) != 0 || sp_read(k->k_fd, hs, sizeof(hs), -1) != 0 ||
	    !sp_handshake_ok(hs, SP_PROTO_REQ))
		goto out;
	pre[0] = 1;
	for (;;) {
		if (sp_fill(k, plen) != 0)
			break;
		uint64_t n;
		if (rpc_sp_frame_len(k->k_buf, ipc, &n) != 0) {
			if (!ipc || k->k_buf[0] == 1)
				rs_log_warn("rpc.bad_frame", "len=%llu",
				            (unsigned long long) sp_get64(k->k_buf + plen - 8));
			break;
		}
		size_t m = plen + (size_t) n; /* this message's bytes in k_buf */
		if (sp_fill(k, m) != 0)
			break;
		const uint8_t *msg = k->k_buf + plen;
		size_t hl = rpc_sp_header_len(msg, (size_t) n);
		int rv = 0;
		if (hl > 0) { /* without a header NNG drops the message too */
			uint8_t *out = NULL;
			const uint8_t *body = NULL;
			size_t outlen = 0, bodylen = 0;
			while (sem_wait(&s->s_slots) != 0 && errno == EINTR)
				;
			rv = s->s_fn(s->s_ud, k->k_arena, msg + hl, (size_t) n - hl, &out, &outlen,
			             &body, &bodylen);
			sem_post(&s->s_slots);
			if (rv == 0) {
				sp_put64(pre + plen - 8, (uint64_t) (hl + outlen + bodylen));
				struct iovec iov[4] = {{pre, plen},
				                       {(void *) msg, hl},
				                       {out, outlen},
				                       {(void *) body, bodylen}};
				rv = sp_writev(k->k_fd, iov, 4, rs_mono_ms() + SP_SEND_MS);
			}
			rs_arena_reset(k->k_arena);
		}
		if (rv != 0)
			break;
		k->k_len -= m;
		if (k->k_len > 0) /* the start of the next message */
			memmove(k->k_buf, k->k_buf + m, k->k_len);
		else if (k->k_cap > (1u << 20)) { /* no huge buffer for an idle connection */
			free(k->k_buf);
			k->k_buf = NULL;
			k->k_cap = 0;
		}
	}
out:
	atomic_store(&k->k_done, 1);
	/* wake the accept thread: it joins this thread, which frees the connection's slot (a
	 * full pipe is awake already) */
	ssize_t w;
	do
		w = write(s->s_freed[1], "x", 1);
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* Joins and frees the connections whose thread has ended (all of them when `all`). */
static void
sp_reap(rpc_sp_server *s, int all)
{
	sp_conn *done = NULL;
	pthread_mutex_lock(&s->s_lock);
	for (sp_conn **pp = &s->s_conns; *pp != NULL;) {
		sp_conn *k = *pp;
		if (all || atomic_load(&k->k_done)) {
			*pp = k->k_next;
			k->k_next = done;
			done = k;
		} else {
			pp = &k->k_next;
		}
	}
	pthread_mutex_unlock(&s->s_lock);
	while (done != NULL) {
		sp_conn *k = done;
		done = k->k_next;
		pthread_join(k->k_thread, NULL);
		sp_conn_free(k);
		atomic_fetch_sub(&s->s_nconns,
		                 1); /* after the join: threads never exceed the cap */
	}
}

/* The accept thread. Back-pressure: with s_max_conns connections open it stops accepting, so
 * further connections wait in the kernel's listen backlog (their callers wait, at most until
 * their deadline) until a connection ends; the number of connection threads never exceeds the
 * cap. */
static void *
sp_accept_main(void *arg)
{
	rpc_sp_server *s = arg;
	struct pollfd p[3] = {{.fd = s->s_fd, .events = POLLIN},
	                      {.fd = s->s_wake[0], .events = POLLIN},
	                      {.fd = s->s_freed[0], .events = POLLIN}};
	int was_full = 0;

	while (!atomic_load(&s->s_stop)) {
		int open = atomic_load(&s->s_nconns), full = open >= s->s_max_conns;
		rs_metric_set(s->s_m_conns, open);
		if (full && !was_full) {
			rs_metric_add(s->s_m_full, 1);
			rs_log_warn("rpc.connections_full",
			            "max_conns=%d (new connections wait until one closes)",
			            s->s_max_conns);
		}
		was_full = full;
		p[0].fd = full ? -1 : s->s_fd; /* poll ignores a negative fd */
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if (p[2].revents != 0) { /* connections ended: drain, join them */
			char buf[64];
			while (read(s->s_freed[0], buf, sizeof(buf)) > 0)
				;
			sp_reap(s, 0);
		}
		if (full || p[0].revents == 0)
			continue;
		int fd = accept4(s->s_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				usleep(10 * 1000);
			continue;
		}
		sp_reap(s, 0);
		sp_conn *k = calloc(1, sizeof(*k));
		if (k == NULL) {
			close(fd);
			continue;
		}
		k->k_srv = s;
		k->k_fd = fd;
		sp_nodelay(fd, &s->s_addr);
		/* the first receive buffer, allocated here like the arena: the connection thread's
		 * malloc heap then holds only what its requests allocate and free (a 64 KiB buffer
		 * there made glibc trim and regrow that heap, mprotect, on every request) */
		if (rs_arena_create(&k->k_arena, 0) != 0 ||
		    (k->k_buf = malloc(SP_FRAME_CHUNK)) == NULL) {
			sp_conn_free(k);
			continue;
		}
		k->k_cap = SP_FRAME_CHUNK;
		pthread_mutex_lock(&s->s_lock);
		atomic_fetch_add(&s->s_nconns, 1);
		if (pthread_create(&k->k_thread, NULL, sp_conn_main, k) != 0) {
			atomic_fetch_sub(&s->s_nconns, 1);
			pthread_mutex_unlock(&s->s_lock);
			rs_log_warn("rpc.thread_failed", "err=\"%s\"", strerror(errno));
			sp_conn_free(k);
			continue;
		}
		k->k_next = s->s_conns;
		s->s_conns = k;
		pthread_mutex_unlock(&s->s_lock);
	}
	return NULL;
}

/* Binds a listening socket for a; removes a stale ipc socket file (one nobody answers on). */
static int
sp_listen(const sp_addr *a, int *out)
{
	int fd = -1, one = 1;

	if (a->a_ipc) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		memcpy(sun.sun_path, a->a_path, strlen(a->a_path) + 1);
		for (int attempt = 0; attempt < 2; attempt++) {
			if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
				return RS_EIO;
			if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
				break;
			int e = errno;
			close(fd);
			fd = -1;
			if (e != EADDRINUSE || attempt > 0)
				return e == EADDRINUSE ? RS_EEXIST : RS_EINVAL;
			int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (probe < 0)
				return RS_EIO;
			int live = connect(probe, (struct sockaddr *) &sun, sizeof(sun)) == 0 ||
			           errno != ECONNREFUSED;
			close(probe);
			if (live)
				return RS_EEXIST;
			unlink(a->a_path);
		}
	} else {
		struct addrinfo hints = {.ai_family = a->a_family,
		                         .ai_socktype = SOCK_STREAM,
		                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
		struct addrinfo *res = NULL;
		if (getaddrinfo(a->a_host[0] ? a->a_host : NULL, a->a_port, &hints, &res) != 0 ||
		    res == NULL)
			return RS_EINVAL;
		int rv = RS_EINVAL;
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
				rv = 0;
				break;
			}
			rv = errno == EADDRINUSE ? RS_EEXIST : RS_EINVAL;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (rv != 0)
			return rv;
	}
	if (listen(fd, SP_BACKLOG) != 0) {
		close(fd);
		if (a->a_ipc)
			unlink(a->a_path);
		return RS_EIO;
	}
	*out = fd;
	return 0;
}

/* The TCP port fd is bound to (what port 0 became), 0 for anything else. */
static int
sp_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *) &ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *) &ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	return 0;
}

int
rpc_sp_server_open(rpc_sp_server **out, const char *url, int workers, int max_conns,
                   rpc_sp_handler fn, void *ud)
{
	rpc_sp_server *s;
	char labels[300];
	int rv;

	if (max_conns < 1)
		return RS_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return RS_ENOMEM;
	s->s_fd = -1;
	s->s_wake[0] = s->s_wake[1] = -1;
	s->s_freed[0] = s->s_freed[1] = -1;
	s->s_fn = fn;
	s->s_ud = ud;
	s->s_max_conns = max_conns;
	atomic_init(&s->s_nconns, 0);
	if ((rv = sp_parse(url, &s->s_addr)) != 0) {
		free(s);
		return rv;
	}
	if (sem_init(&s->s_slots, 0, (unsigned) workers) != 0) {
		free(s);
		return RS_EINVAL;
	}
	pthread_mutex_init(&s->s_lock, NULL);
	if ((rv = sp_listen(&s->s_addr, &s->s_fd)) != 0) {
		rs_log_error("rpc.listen_failed", "url=%s err=\"%s\"", url, rs_strerror(rv));
		goto fail;
	}
	if (pipe2(s->s_wake, O_CLOEXEC) != 0 || pipe2(s->s_freed, O_CLOEXEC | O_NONBLOCK) != 0) {
		rv = RS_EIO;
		goto fail;
	}
	s->s_port = s->s_addr.a_ipc ? 0 : sp_bound_port(s->s_fd);
	snprintf(labels, sizeof(labels), "url=\"%.250s\"", url);
	rpc_conn_metrics(labels, &s->s_m_conns, &s->s_m_full);
	if (pthread_create(&s->s_accept, NULL, sp_accept_main, s) != 0) {
		rv = RS_ENOMEM;
		goto fail;
	}
	s->s_accept_started = 1;
	*out = s;
	return 0;
fail:
	rpc_sp_server_close(s);
	return rv;
}

void
rpc_conn_metrics(const char *labels, rs_metric **conns, rs_metric **full)
{
	*conns = rs_metrics_gauge("rs_rpc_connections",
	                          "Connections the RPC server holds open (each has a thread)",
	                          labels);
	*full = rs_metrics_counter(
	        "rs_rpc_connections_full_total",
	        "Times the RPC server reached its connection cap and stopped accepting", labels);
}

void
rpc_sp_server_close(rpc_sp_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->s_stop, 1);
	if (s->s_accept_started) {
		ssize_t w;
		do
			w = write(s->s_wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(s->s_accept, NULL);
	}
	/* The accept thread is gone, so the list is complete: wake every reader (a handler
	 * running now still writes its reply), then join them all. */
	pthread_mutex_lock(&s->s_lock);
	for (sp_conn *k = s->s_conns; k != NULL; k = k->k_next)
		shutdown(k->k_fd, SHUT_RD);
	pthread_mutex_unlock(&s->s_lock);
	sp_reap(s, 1);
	if (s->s_fd >= 0) {
		close(s->s_fd);
		if (s->s_addr.a_ipc)
			unlink(s->s_addr.a_path);
	}
	for (int i = 0; i < 2; i++) {
		if (s->s_wake[i] >= 0)
			close(s->s_wake[i]);
		if (s->s_freed[i] >= 0)
			close(s->s_freed[i]);
	}
	sem_destroy(&s->s_slots);
	pthread_mutex_destroy(&s->s_lock);
	free(s);
}

int
rpc_sp_server_port(const rpc_sp_server *s)
{
	return s->s_port;
}

int
rpc_sp_server_conns(rpc_sp_server *s)
{
	return atomic_load(&s->s_nconns);
}

/* ---- client ------------------------------------------------------------------------------- */

typedef struct sp_cconn {
	struct sp_cconn *q_next;
	int q_fd;
	size_t q_guess; /* the reply buffer to start with: a bit more than the last reply */
} sp_cconn;

struct rpc_sp_client {
	sp_addr c_addr;
	pthread_mutex_t c_lock; /* c_idle, c_nidle */
	sp_cconn *c_idle;
	int c_nidle;
	atomic_int c_up;    /* the monitor connection is established */
	atomic_int c_nopen; /* call connections open (idle or in use) */
	atomic_uint c_next_id;
	pthread_t c_mon;
	int c_mon_started;
	int c_wake[2];
	atomic_int c_stop;
};

/* Connects (non-blocking socket, within deadline) and does the handshake. Returns the fd or
 * a negative RS_E*: RS_EUNAVAIL (refused, unreachable, bad name), RS_ETIMEDOUT, RS_EIO. */
static int
sp_connect(const sp_addr *a, double deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rv;

	if (a->a_ipc) {
		struct sockaddr_un *sun = (struct sockaddr_un *) &ss;
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->a_path, strlen(a->a_path) + 1);
		sl = sizeof(*sun);
	} else {
		struct addrinfo hints = {.ai_family = a->a_family,
		                         .ai_socktype = SOCK_STREAM,
		                         .ai_flags = AI_NUMERICSERV};
		struct addrinfo *res = NULL;
		if (getaddrinfo(a->a_host[0] ? a->a_host : "127.0.0.1", a->a_port, &hints, &res) !=
		            0 ||
		    res == NULL)
			return RS_EUNAVAIL;
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		sl = res->ai_addrlen;
		freeaddrinfo(res);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return RS_EIO;
	if (connect(fd, (struct sockaddr *) &ss, sl) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			close(fd);
			return RS_EUNAVAIL;
		}
		if ((rv = sp_wait(fd, POLLOUT, deadline)) != 0) {
			close(fd);
			return rv;
		}
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
			close(fd);
			return RS_EUNAVAIL;
		}
	}
	sp_nodelay(fd, a);
	uint8_t hs[8];
	sp_handshake_bytes(hs, SP_PROTO_REQ);
	struct iovec hv = {hs, sizeof(hs)};
	if ((rv = sp_writev(fd, &hv, 1, deadline)) != 0 ||
	    (rv = sp_read(fd, hs, sizeof(hs), deadline)) != 0) {
		close(fd);
		return rv == RS_ETIMEDOUT ? rv : RS_EUNAVAIL;
	}
	if (!sp_handshake_ok(hs, SP_PROTO_REP)) {
		close(fd);
		return RS_EUNAVAIL;
	}
	/* From here on the socket blocks, for at most SP_RECV_SLICE_MS per recv (sp_recv_some);
	 * sends never block (sp_writev). */
	struct timeval tv = {.tv_sec = 0, .tv_usec = SP_RECV_SLICE_MS * 1000};
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		close(fd);
		return RS_EIO;
	}
	return fd;
}

static void
sp_client_drop_idle(rpc_sp_client *c)
{
	pthread_mutex_lock(&c->c_lock);
	sp_cconn *q = c->c_idle;
	c->c_idle = NULL;
	c->c_nidle = 0;
	pthread_mutex_unlock(&c->c_lock);
	while (q != NULL) {
		sp_cconn *n = q->q_next;
		close(q->q_fd);
		atomic_fetch_sub(&c->c_nopen, 1);
		free(q);
		q = n;
	}
}

/* Sleeps ms or until the client closes; returns 1 when it closes. */
static int
sp_mon_sleep(rpc_sp_client *c, int ms)
{
	struct pollfd p = {.fd = c->c_wake[0], .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0 || atomic_load(&c->c_stop);
}

/* Keeps one connection to the peer: up while it is open; when the peer goes away the idle
 * call connections are dropped too (they would fail on their next use). */
static void *
sp_mon_main(void *arg)
{
	rpc_sp_client *c = arg;
	int backoff = SP_BACKOFF_MIN;

	while (!atomic_load(&c->c_stop)) {
		int fd = sp_connect(&c->c_addr, rs_mono_ms() + SP_CONNECT_MS);
		if (fd < 0) {
			if (sp_mon_sleep(c, backoff))
				break;
			backoff = backoff * 2 > SP_BACKOFF_MAX ? SP_BACKOFF_MAX : backoff * 2;
			continue;
		}
		backoff = SP_BACKOFF_MIN;
		atomic_store(&c->c_up, 1);
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
		                      {.fd = c->c_wake[0], .events = POLLIN}};
		for (;;) {
			int n = poll(p, 2, -1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || p[0].revents != 0 || p[1].revents != 0)
				break;
		}
		atomic_store(&c->c_up, 0);
		close(fd);
		if (atomic_load(&c->c_stop))
			break;
		sp_client_drop_idle(c);
		if (sp_mon_sleep(c, SP_BACKOFF_MIN))
			break;
	}
	return NULL;
}

int
rpc_sp_client_open(rpc_sp_client **out, const char *url)
{
	rpc_sp_client *c;
	int rv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RS_ENOMEM;
	if ((rv = sp_parse(url, &c->c_addr)) != 0) {
		free(c);
		return rv;
	}
	c->c_wake[0] = c->c_wake[1] = -1;
	pthread_mutex_init(&c->c_lock, NULL);
	atomic_init(&c->c_next_id, (unsigned) getpid() * 2654435761u);
	if (pipe2(c->c_wake, O_CLOEXEC) != 0) {
		rpc_sp_client_close(c);
		return RS_EIO;
	}
	if (pthread_create(&c->c_mon, NULL, sp_mon_main, c) != 0) {
		rpc_sp_client_close(c);
		return RS_ENOMEM;
	}
	c->c_mon_started = 1;
	*out = c;
	return 0;
}

void
rpc_sp_client_close(rpc_sp_client *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->c_stop, 1);
	if (c->c_mon_started) {
		ssize_t w;
		do
			w = write(c->c_wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(c->c_mon, NULL);
	}
	sp_client_drop_idle(c);
	for (int i = 0; i < 2; i++)
		if (c->c_wake[i] >= 0)
			close(c->c_wake[i]);
	pthread_mutex_destroy(&c->c_lock);
	free(c);
}

int
rpc_sp_client_connected(const rpc_sp_client *c)
{
	rpc_sp_client *m = (rpc_sp_client *) c;
	return atomic_load(&m->c_up) ? 1 + atomic_load(&m->c_nopen) : 0;
}

static void
sp_client_put(rpc_sp_client *c, sp_cconn *q, int keep)
{
	if (keep) {
		pthread_mutex_lock(&c->c_lock);
		if (c->c_nidle < SP_IDLE_MAX) {
			q->q_next = c->c_idle;
			c->c_idle = q;
			c->c_nidle++;
			q = NULL;
		}
		pthread_mutex_unlock(&c->c_lock);
		if (q == NULL)
			return;
	}
	close(q->q_fd);
	atomic_fetch_sub(&c->c_nopen, 1);
	free(q);
}

/* Receives at least one byte of buf[0..n) by deadline. A call connection blocks in recv for at
 * most SP_RECV_SLICE_MS (its SO_RCVTIMEO): with more than that left until the deadline, recv
 * itself waits, so a reply usually costs one system call; with less left, or after a slice
 * passed without data, poll waits for the rest. Returns the bytes received, or RS_ECLOSED (end
 * of stream or reset), RS_EIO, RS_ETIMEDOUT. */
static ssize_t
sp_recv_some(int fd, uint8_t *buf, size_t n, double deadline)
{
	for (int in_recv = 1;; in_recv = 0) {
		int flags = 0;
		if (!in_recv || deadline - rs_mono_ms() < SP_RECV_SLICE_MS + 10) {
			int rv = sp_wait(fd, POLLIN, deadline);
			if (rv != 0)
				return rv;
			flags = MSG_DONTWAIT;
		}
		ssize_t r = recv(fd, buf, n, flags);
		if (r > 0)
			return r;
		if (r == 0 || errno == ECONNRESET)
			return RS_ECLOSED;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return RS_EIO;
	}
}

/* One exchange on q: the request in one sendmsg, the reply read into one arena buffer (sized
 * from the connection's last reply, so usually one recv). Returns 0 or an RS_E*; RS_ECLOSED
 * means the peer closed the connection before answering anything (a stale pooled connection:
 * safe to retry on a new one). */
static int
sp_exchange(rpc_sp_client *c, sp_cconn *q, const uint8_t *req, size_t rlen,
            const struct iovec *body, int nbody, double deadline, rs_arena *arena, uint8_t **resp,
            size_t *resplen)
{
	int ipc = c->c_addr.a_ipc;
	size_t plen = ipc ? 9 : 8, blen = 0;
	uint8_t pre[13];
	uint32_t id = atomic_fetch_add(&c->c_next_id, 1) | 0x80000000u;
	struct iovec iov[2 + RPC_SP_BODY_MAX];
	int rv;

	if (nbody < 0 || nbody > RPC_SP_BODY_MAX)
		return RS_EINVAL;
	pre[0] = 1;
	iov[0] = (struct iovec){pre, plen + 4};
	iov[1] = (struct iovec){(void *) req, rlen};
	for (int i = 0; i < nbody; i++) {
		iov[2 + i] = body[i];
		blen += body[i].iov_len;
	}
	sp_put64(pre + plen - 8, (uint64_t) (rlen + blen) + 4);
	sp_put32(pre + plen, id);
	if ((rv = sp_writev(q->q_fd, iov, 2 + nbody, deadline)) != 0)
		return rv;
	size_t cap = q->q_guess > 0 ? q->q_guess : SP_REPLY_GUESS, got = 0;
	uint8_t *buf = rs_arena_alloc(arena, cap);
	if (buf == NULL)
		return RS_ENOMEM;
	for (;;) {
		uint64_t n = 0;
		size_t total = 0; /* this message's bytes: the prefix and n */
		for (;;) {
			if (total == 0 && got >= plen) {
				if (rpc_sp_frame_len(buf, ipc, &n) != 0)
					return RS_EPROTO;
				total = plen + (size_t) n;
				if (total > cap) { /* more than the guess: room for the rest */
					uint8_t *nb = rs_arena_alloc(arena, total);
					if (nb == NULL)
						return RS_ENOMEM;
					memcpy(nb, buf, got);
					buf = nb;
					cap = total;
				}
			}
			if (total > 0 && got >= total)
				break;
			ssize_t r = sp_recv_some(q->q_fd, buf + got, cap - got, deadline);
			if (r < 0)
				return r == RS_ECLOSED && got > 0 ? RS_EIO : (int) r;
			got += (size_t) r;
		}
		if (sp_get32(buf + plen) != id) { /* a late reply to an earlier call: not ours */
			got -= total;
			memmove(buf, buf + total, got);
			continue;
		}
		if (got > total)
			return RS_EPROTO; /* a second reply to one request */
		q->q_guess = total < SP_GUESS_MAX ? total + total / 8 + 64 : SP_GUESS_MAX;
		*resp = buf + plen + 4;
		*resplen = (size_t) n - 4;
		return 0;
	}
}

int
rpc_sp_call(rpc_sp_client *c, const uint8_t *pre, size_t plen, const struct iovec *body, int nbody,
            int timeout_ms, rs_arena *arena, uint8_t **resp, size_t *resplen)
{
	double deadline = rs_mono_ms() + timeout_ms;
	int rv = RS_EUNAVAIL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!atomic_load(&c->c_up))
			return RS_EUNAVAIL;
		sp_cconn *q = NULL;
		if (attempt == 0) {
			pthread_mutex_lock(&c->c_lock);
			if ((q = c->c_idle) != NULL) {
				c->c_idle = q->q_next;
				c->c_nidle--;
			}
			pthread_mutex_unlock(&c->c_lock);
		}
		int reused = q != NULL;
		if (q == NULL) {
			int fd = sp_connect(&c->c_addr, deadline);
			if (fd < 0)
				return fd;
			if ((q = calloc(1, sizeof(*q))) == NULL) {
				close(fd);
				return RS_ENOMEM;
			}
			q->q_fd = fd;
			atomic_fetch_add(&c->c_nopen, 1);
		}
		rv = sp_exchange(c, q, pre, plen, body, nbody, deadline, arena, resp, resplen);
		/* After a timeout or error the connection may still carry our request or a
		 * partial reply: it is closed, not reused. */
		sp_client_put(c, q, rv == 0);
		if (rv == RS_ECLOSED && reused) {
			/* The peer restarted: the other idle connections are stale too. */
			sp_client_drop_idle(c);
			continue;
		}
		break;
	}
	if (rv == RS_ECLOSED)
		rv = RS_EUNAVAIL;
	return rv;
}
