/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's own terminal. When airlock's stdin is a terminal, CMD gets
 * a new pseudo-terminal instead, and the supervisor relays bytes between
 * the two, so that TIOCSTI or TIOCLINUX from inside can only reach the
 * inner terminal, never the user's shell. Runs in the supervisor.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define PTY_CHUNK_BYTES 65536

_Static_assert(sizeof(struct termios) <= sizeof(((struct pty_relay *)0)->saved),
	       "pty_relay.saved too small for struct termios");

int pty_open(struct pty_relay *pty)
{
	struct termios tio;
	char name[64];

	*pty = (struct pty_relay){ .master = -1, .slave = -1 };
	if (!isatty(STDIN_FILENO))
		return 0;

	pty->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty->master < 0 || grantpt(pty->master) < 0 ||
	    unlockpt(pty->master) < 0 ||
	    ptsname_r(pty->master, name, sizeof(name)) != 0) {
		log_error_errno(errno, "cannot open a pseudo-terminal");
		return -errno;
	}
	pty->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pty->slave < 0) {
		log_error_errno(errno, "cannot open %s", name);
		return -errno;
	}
	if (tcgetattr(STDIN_FILENO, &tio) == 0) {
		(void)tcsetattr(pty->slave, TCSANOW, &tio);
		memcpy(pty->saved, &tio, sizeof(tio));
		cfmakeraw(&tio);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &tio) == 0)
			pty->raw_set = true;
	}
	pty_sync_size(pty);
	return 0;
}

void pty_sync_size(struct pty_relay *pty)
{
	struct winsize ws;

	if (pty->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(pty->master, TIOCSWINSZ, &ws);
}

static bool copy_chunk(int from, int to)
{
	char buf[PTY_CHUNK_BYTES];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return write_all(to, buf, (size_t)n) == 0;
}

bool pty_relay_in(struct pty_relay *pty)
{
	return copy_chunk(STDIN_FILENO, pty->master);
}

bool pty_relay_out(struct pty_relay *pty)
{
	return copy_chunk(pty->master, STDOUT_FILENO);
}

void pty_restore(struct pty_relay *pty)
{
	if (pty->raw_set) {
		struct termios tio;

		memcpy(&tio, pty->saved, sizeof(tio));
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &tio);
		pty->raw_set = false;
	}
	if (pty->slave >= 0)
		close(pty->slave);
	if (pty->master >= 0)
		close(pty->master);
	pty->slave = pty->master = -1;
}
