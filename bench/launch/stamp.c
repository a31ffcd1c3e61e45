/* The program alfwrapper starts in the launch benchmark: it writes the
 * CLOCK_MONOTONIC time at which it began running to the file named by its
 * first argument. Linked statically, so its own start costs next to nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec now;
	char text[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (argc < 2)
		return 2;
	n = snprintf(text, sizeof(text), "%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)n) != n)
		return 1;
	close(fd);
	return 0;
}
