// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-broker activation: a lookup of an activatable name that nobody
 * owns starts the policy's program for it as a client of the broker;
 * its exit without taking the name fails the waiting lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "broker-int.h"

int spawn(struct broker *b, struct name *n, const struct policy_act *a)
{
	char env_h[64], env_r[64], env_i[64], env_fd[32];
	struct bus1_peer *child_peer = NULL;
	struct client *c;
	__u64 h;
	pid_t pid;
	int r, fd;

	r = bus1_peer_new(&child_peer);
	if (r < 0)
		return r;
	fd = bus1_peer_get_fd(child_peer);
	c = client_new(b, getuid(), 0);
	if (!c) {
		bus1_peer_free(child_peer);
		return -ENOMEM;
	}
	/* create the child's reply node inside its peer, take a handle */
	r = bus1_handle_transfer_fd(child_peer, SPAWN_REPLY_NODE,
				    bus1_peer_get_fd(b->peer), &c->reply);
	if (r >= 0)
		r = bus1_handle_transfer(b->peer, c->node, child_peer, &h);
	if (r < 0)
		goto fail;
	snprintf(env_h, sizeof(env_h), "%s=0x%llx", B1B_HANDLE_ENV,
		 (unsigned long long)h);
	snprintf(env_r, sizeof(env_r), "%s=0x%llx", B1B_REPLY_ENV,
		 SPAWN_REPLY_NODE);
	snprintf(env_i, sizeof(env_i), "%s=%llu", B1B_ID_ENV,
		 (unsigned long long)c->id);
	snprintf(env_fd, sizeof(env_fd), "%s=3", BUS1_PEER_FD_ENV);

	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (!pid) {
		sigset_t ss;

		sigemptyset(&ss);
		sigprocmask(SIG_SETMASK, &ss, NULL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* dup2() onto itself would keep FD_CLOEXEC */
		if (fd == 3 ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, 3) < 0)
			_exit(127);
		putenv(env_h);
		putenv(env_r);
		putenv(env_i);
		putenv(env_fd);
		setenv(B1B_SOCKET_ENV, b->cfg->socket_path, 1);
		execv(a->argv[0], a->argv);
		_exit(127);
	}
	c->pid = pid;
	n->activating = pid;
	n->deadline = now_ms() + b->cfg->activation_timeout_ms;
	bus1_peer_free(child_peer);
	logm(b, 1, "activating %s: started %s as pid %d (client %llu)",
	     n->name, a->argv[0], (int)pid, (unsigned long long)c->id);
	return 0;

fail:
	client_free(b, c);
	bus1_peer_free(child_peer);
	return r;
}

void reap_children(struct broker *b)
{
	unsigned int i;
	struct name *n;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		logm(b, 1, "pid %d exited (status %d)", (int)pid,
		     WIFEXITED(status) ? WEXITSTATUS(status) :
		     128 + WTERMSIG(status));
		for (i = 0; i < b->n_names; i++) {
			n = b->names[i];
			if (n->activating != pid)
				continue;
			n->activating = 0;
			if (!n->owner) {
				fail_lookups(b, n, -ESRCH);
				name_remove(b, n);
				i--;
			}
		}
	}
}
