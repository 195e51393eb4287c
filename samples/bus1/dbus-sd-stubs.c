// SPDX-License-Identifier: GPL-2.0
/*
 * The static libdbus-1.a calls these two libsystemd functions, only for
 * "systemd:" addresses (socket activation by systemd), which
 * bus1-dbus-broker does not accept. Debian ships no static libsystemd;
 * these stand-ins let the broker link statically (it runs in the test VM's
 * busybox initramfs) and make such an address fail cleanly.
 */
int sd_listen_fds(int unset_environment)
{
	return 0;	/* "no fds passed" */
}

int sd_is_socket(int fd, int family, int type, int listening)
{
	return 0;
}
