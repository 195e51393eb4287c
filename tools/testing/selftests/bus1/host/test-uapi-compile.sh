#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: include/uapi/linux/bus1.h must compile standalone in userspace
# as C99 and as C++ with -Wall -Wextra -Werror, define the documented
# numeric values in both languages, and be self-contained (no kernel-only
# headers, no use of kernel-internal types). Prints TAP.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../../../.." && pwd)
hdr="$repo/include/uapi/linux/bus1.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

TAP_DIAG=$tmp/log # read by tap.sh
# shellcheck source=SCRIPTDIR/tap.sh
. "$here/tap.sh"
run() { # name, command...
	local name=$1
	shift
	if "$@" >"$tmp/log" 2>&1; then ok "$name"; else not_ok "$name"; fi
}

echo "TAP version 13"
tap_plan 9

# a translation unit that only includes the header
printf '#include <linux/bus1.h>\n' >"$tmp/only.c"
cp "$tmp/only.c" "$tmp/only.cc"

# a translation unit checking values at compile time in both languages
cat >"$tmp/values.h" <<'EOT'
#include <linux/bus1.h>
#include <stddef.h>
#ifdef __cplusplus
#define SA(x) static_assert(x, #x)
#else
#define SA(x) _Static_assert(x, #x)
#endif
SA(BUS1_FD_MAX == 256);
SA(BUS1_DESTINATION_MAX == 1024);
SA(BUS1_IOCTL_MAGIC == 0x96);
SA(BUS1_HANDLE_INVALID == ~0ULL);
SA(BUS1_OFFSET_INVALID == ~0ULL);
SA((unsigned long long)BUS1_HANDLE_FLAG_MANAGED == 1);
SA((unsigned long long)BUS1_HANDLE_FLAG_REMOTE == 2);
SA((unsigned long long)BUS1_MSG_NODE_RELEASE == 3);
SA((unsigned long long)BUS1_PEER_RESET_FLAG_FLUSH_SEED == 2);
SA((unsigned long long)BUS1_RECV_FLAG_INSTALL_FDS == 2);
SA((unsigned int)BUS1_CMD_PEER_DISCONNECT == 0xC0089600U);
SA((unsigned int)BUS1_CMD_PEER_QUERY == 0xC0209601U);
SA((unsigned int)BUS1_CMD_PEER_RESET == 0xC0209602U);
SA((unsigned int)BUS1_CMD_HANDLE_RELEASE == 0xC0089610U);
SA((unsigned int)BUS1_CMD_HANDLE_TRANSFER == 0xC0209611U);
SA((unsigned int)BUS1_CMD_NODES_DESTROY == 0xC0189620U);
SA((unsigned int)BUS1_CMD_SLICE_RELEASE == 0xC0089630U);
SA((unsigned int)BUS1_CMD_SEND == 0xC0509640U);
SA((unsigned int)BUS1_CMD_RECV == 0xC0489650U);
SA(sizeof(struct bus1_cmd_peer_reset) == 32);
SA(sizeof(struct bus1_cmd_handle_transfer) == 32);
SA(sizeof(struct bus1_cmd_nodes_destroy) == 24);
SA(sizeof(struct bus1_cmd_send) == 80);
SA(sizeof(struct bus1_cmd_recv) == 72);
SA(offsetof(struct bus1_cmd_recv, msg) == 16);
SA(offsetof(struct bus1_cmd_send, n_fds) == 72);
SA(offsetof(struct bus1_cmd_peer_reset, max_inflight_fds) == 28);
EOT
printf '#include "values.h"\nint main(void) { return 0; }\n' >"$tmp/values.c"
cp "$tmp/values.c" "$tmp/values.cc"

inc=(-I"$repo/include/uapi")
cflags=(-Wall -Wextra -Werror)

run "header compiles standalone as C99 (gcc -std=c99 -Wall -Wextra -Werror)" \
	gcc -std=c99 "${cflags[@]}" "${inc[@]}" -c "$tmp/only.c" -o "$tmp/a.o"
run "header compiles standalone as gnu11" \
	gcc -std=gnu11 "${cflags[@]}" "${inc[@]}" -c "$tmp/only.c" -o "$tmp/b.o"
run "header compiles standalone as C++ (g++ -Wall -Wextra -Werror)" \
	g++ "${cflags[@]}" "${inc[@]}" -c "$tmp/only.cc" -o "$tmp/c.o"
run "header compiles standalone as C++98" \
	g++ -std=c++98 "${cflags[@]}" "${inc[@]}" -c "$tmp/only.cc" -o "$tmp/d.o"
run "numeric values and layouts as C11" \
	gcc -std=c11 "${cflags[@]}" "${inc[@]}" -I"$tmp" "$tmp/values.c" -o "$tmp/e"
run "numeric values and layouts as C++11" \
	g++ -std=c++11 "${cflags[@]}" "${inc[@]}" -I"$tmp" "$tmp/values.cc" -o "$tmp/f"

# only userspace-exported headers may be included
if grep -E '^[[:space:]]*#[[:space:]]*include' "$hdr" >"$tmp/incs" &&
   ! grep -vE '<linux/(ioctl|types)\.h>' "$tmp/incs" >"$tmp/log"; then
	ok "header includes only <linux/ioctl.h> and <linux/types.h>"
else
	not_ok "header includes only <linux/ioctl.h> and <linux/types.h>"
fi

# no kernel-internal types (u64, u32, s32 without underscores)
if ! grep -nE '(^|[^_[:alnum:]])(u8|u16|u32|u64|s32|s64)([^_[:alnum:]]|$)' \
	"$hdr" >"$tmp/log"; then
	ok "header uses only __u64/__u32 style types"
else
	not_ok "header uses only __u64/__u32 style types"
fi

if head -n1 "$hdr" | grep -qF \
	'/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */'; then
	ok "header SPDX line is GPL-2.0 WITH Linux-syscall-note"
else
	head -n1 "$hdr" >"$tmp/log"
	not_ok "header SPDX line is GPL-2.0 WITH Linux-syscall-note"
fi

tap_end
