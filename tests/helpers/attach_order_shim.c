/* Preloaded into alfwrapper by the attach-order test (LD_PRELOAD): wraps
 * bind() and listen() and records, for every call on an IPv4, IPv6 or Unix
 * socket, whether that socket already carries a filter and whether the
 * filter is locked. alfwrapper must attach and lock before it binds: a
 * socket bound first takes packets that no filter judged.
 *
 * Each call appends one line to the file named by ALF_ATTACH_ORDER_LOG:
 *   bind|listen fd=N family=F type=T filtered=0|1 locked=0|1 address=TEXT
 * The test judges the lines; the calls themselves go on unchanged. */
/* Not _GNU_SOURCE: with it, glibc declares bind() with a transparent union. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef RTLD_NEXT
#define RTLD_NEXT ((void *)-1l) /* <dlfcn.h> defines it for _GNU_SOURCE only */
#endif

static int int_option(int fd, int name, int *value)
{
	socklen_t len = sizeof *value;

	*value = 0;
	return getsockopt(fd, SOL_SOCKET, name, value, &len);
}

/* SO_GET_FILTER answers length 0 without a filter; a classic program is
 * read back (length > 0), an eBPF one cannot be (EACCES). */
static int has_filter(int fd)
{
	socklen_t len = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len) != 0)
		return errno == EACCES;
	return len > 0;
}

static void address_text(const struct sockaddr *sa, socklen_t salen, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "";

	snprintf(out, size, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX && salen > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n = salen - offsetof(struct sockaddr_un, sun_path);

		if (un->sun_path[0] == '\0')
			snprintf(out, size, "@%.*s", (int)(n > 1 ? n - 1 : 0), un->sun_path + 1);
		else
			snprintf(out, size, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
	}
}

static void check(const char *call, int fd, const struct sockaddr *sa, socklen_t salen)
{
	int family, type, locked = 0;
	int filtered, saved = errno;
	const char *path = getenv("ALF_ATTACH_ORDER_LOG");
	char address[256], line[512];

	if (int_option(fd, SO_DOMAIN, &family) != 0 ||
	    (family != AF_INET && family != AF_INET6 && family != AF_UNIX)) {
		errno = saved;
		return;
	}
	int_option(fd, SO_TYPE, &type);
	int_option(fd, SO_LOCK_FILTER, &locked);
	filtered = has_filter(fd);
	address_text(sa, salen, address, sizeof address);
	int n = snprintf(line, sizeof line, "%s fd=%d family=%d type=%d filtered=%d locked=%d address=%s\n", call, fd,
			 family, type, filtered, locked != 0, address);
	if (path && n > 0) {
		int log = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (log >= 0) {
			ssize_t written = write(log, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);

			(void)written;
			close(log);
		}
	}
	errno = saved;
}

int bind(int fd, const struct sockaddr *sa, socklen_t salen)
{
	static int (*next)(int, const struct sockaddr *, socklen_t);

	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "bind"); /* POSIX's way around ISO C's function pointer rule */
	check("bind", fd, sa, salen);
	return next(fd, sa, salen);
}

int listen(int fd, int backlog)
{
	static int (*next)(int, int);

	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "listen");
	check("listen", fd, NULL, 0);
	return next(fd, backlog);
}
