#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bus1-bench - benchmark driver, run inside the bench VM as /usr/bin/bus1-bench
# (busybox sh: this is POSIX sh on purpose, the guest has no bash).
#
#   bus1-bench              tables 1, 2, 3, 5 (icount VM, -smp 1), then the
#                           function_graph profiles of 0 B / 1 KiB unicast
#                           and of the multicast per-destination cost
#   bus1-bench --scaling    table 4 (plain TCG VM with -smp 2)
#   bus1-bench --no-profile tables only
#   bus1-bench --profile    profiles only
#   bus1-bench --dbus       the D-Bus figures only; --dbus-names: the
#                           broker's lookups with 10 / 5,000 names;
#                           --dbus-conns: its loop with 10 / 1,000 idle
#                           socket connections
#   bus1-bench --run ARGS   load Binder, then bus1-bench-run ARGS (e.g.
#                           --only roundtrip, --roundtrip 6000 9000 7)
#
# Exit status: 0 if every measurement ran and is valid (a MISS is a result,
# not an error; a round trip whose context switches leave the expected
# steady-state pattern is an invalid measurement: exit 1).
set -eu

RUN=${BUS1_BENCH_RUN:-bus1-bench-run}
T=/sys/kernel/tracing
KO=/lib/bus1/bus1.ko
PROFILE=1
TABLES=1
RUNARGS=
DBUS_ONLY=0
DBUS_ARGS=

case ${1:-} in
--scaling) exec "$RUN" --scaling "${2:-1}" ;;
--no-profile) PROFILE=0 ;;
--profile) TABLES=0 ;;
--run) shift; RUNARGS=1 ;;
--dbus) DBUS_ONLY=1 ;;
--dbus-names) DBUS_ONLY=1; DBUS_ARGS="1 names" ;;
--dbus-conns) DBUS_ONLY=1; DBUS_ARGS="1 conns" ;;
"") ;;
*) echo "usage: bus1-bench [--scaling [SECS] | --no-profile | --profile | --dbus | --dbus-names | --dbus-conns | --run ARGS]" >&2
	exit 2 ;;
esac

# Binder: the Debian module is not in the guest's /lib/modules; the bench
# build ships it as /usr/bin/binder_linux.ko.
if [ ! -e /dev/binder ]; then
	for m in /usr/bin/binder_linux.ko /lib/bus1/binder_linux.ko; do
		[ -e "$m" ] || continue
		insmod "$m" devices=binder 2>&1 | sed 's/^/# /' || true
		break
	done
	[ -e /dev/binder ] || echo "# /dev/binder missing: Binder figures are n/a"
fi

echo "# bus1-bench: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s)," \
	"bus1.ko md5 $(md5sum $KO 2>/dev/null | cut -c1-12)"
echo "# figures are CLOCK_MONOTONIC ns; under qemu -icount shift=0 that is guest instructions"
echo "# (user + kernel); medians of 7 repetitions after a warm-up (round trips: see section 3)"
[ -z "$RUNARGS" ] || exec "$RUN" "$@"

# D-Bus (issue 19): bus1-dbus-bench against Debian's dbus-daemon, which runs
# from the host's /usr (9p, the rig's HOST_USR=1) in /hostroot; our broker
# and the clients are static and in /usr/bin. Debian's dbus-broker, where the
# host has it, is a second baseline (informational): bus1-dbus-bench starts
# it itself from /hostroot (--dbus-broker: socket activation, a journal
# stand-in, dbus-daemon's configuration file), or says it is not installed.
dbus_bench() {
	R=/hostroot
	if ! command -v bus1-dbus-bench >/dev/null; then
		echo "# D-Bus: bus1-dbus-bench not installed, skipped"
		return 0
	fi
	if [ ! -x $R/usr/bin/dbus-daemon ]; then
		echo "# D-Bus: no $R/usr/bin/dbus-daemon (the host's /usr is not shared), skipped"
		return 0
	fi
	mkdir -p /run/bus1
	cat >/tmp/bench-dbus.conf <<'CONF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=/run/bus1/bench-daemon.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
	chroot $R /usr/bin/dbus-daemon --config-file=/tmp/bench-dbus.conf \
		--nofork --nopidfile &
	dd=$!
	# (--dbus-conns: 1,000 idle connections of one uid, and their fds)
	ulimit -n 4096 2>/dev/null
	bus1-dbus-broker --address unix:path=/run/bus1/bench.sock \
		--bus1-socket /run/bus1/bench.bus1 \
		--max-connections-per-user 2048 &
	bb=$!
	i=0
	until [ -S /run/bus1/bench-daemon.sock ] && [ -S /run/bus1/bench.sock ] &&
		[ -S /run/bus1/bench.bus1 ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || break
		sleep 0.1
	done
	echo "# D-Bus: $(chroot $R /usr/bin/dbus-daemon --version | head -n 1)"
	[ ! -x $R/usr/bin/dbus-broker ] ||
		echo "# D-Bus: $(chroot $R /usr/bin/dbus-broker --version | head -n 1)"
	bus1-dbus-bench --dbus-broker $R /tmp/bench-dbus.conf \
		unix:path=/run/bus1/bench-daemon.sock \
		unix:path=/run/bus1/bench.sock /run/bus1/bench.bus1 $DBUS_ARGS \
		>/tmp/dbus-bench.out || rc=1
	cat /tmp/dbus-bench.out
	kill $dd $bb 2>/dev/null
	wait $dd $bb 2>/dev/null
	[ -n "$DBUS_ARGS" ] || sdpump_bench
	return 0
}

# sd-bus as the marshaller, bytes over bus1 through a socketpair pump
# (dbus.rst, *Benchmark*): dynamic against the host's libsystemd, so it runs
# in /hostroot from the shared tree, against dbus-daemon's (a) and (c) of
# this run (the "daemon" column of bus1-dbus-bench's rows)
sdpump_bench() {
	sp=/src/samples/bus1/out/bus1-dbus-sdpump-bench
	if [ ! -x $R$sp ]; then
		echo "# D-Bus: no $sp in the shared tree, sd-bus figures skipped"
		return 0
	fi
	da=$(awk '/^\(a\) Echo/ { print $(NF - 5) }' /tmp/dbus-bench.out)
	dc=$(awk '/^\(c\) one signal/ { print $(NF - 5) }' /tmp/dbus-bench.out)
	chroot $R $sp "${da:-0}" "${dc:-0}" || rc=1
}

# an invalid measurement fails the run, after the profiles
rc=0
if [ "$DBUS_ONLY" = 1 ]; then
	dbus_bench
	exit $rc
fi
[ "$TABLES" = 0 ] || "$RUN" || rc=$?
[ "$TABLES" = 0 ] || dbus_bench

[ "$PROFILE" = 1 ] || exit $rc
if [ ! -w $T/set_ftrace_filter ] || ! grep -q function_graph $T/available_tracers; then
	echo "# profile: no function_graph tracer, skipped"
	exit $rc
fi

# --- profiles ------------------------------------------------------------------
# function_graph on all bus1 functions plus every kernel function bus1.ko
# imports (its __versions table) plus a few callees of interest. Each traced
# call costs a fixed tracer overhead o; o is estimated from the untraced vs
# traced time of the same loop and subtracted: self = measured self - o *
# (direct traced children), incl = measured incl - o * (traced descendants).
EXTRA="__x64_sys_ioctl do_vfs_ioctl security_file_ioctl __fdget fput
kmalloc_trace __kmalloc __kmem_cache_alloc_node kmem_cache_alloc
kmem_cache_alloc_lru kfree kmem_cache_free __kmem_cache_free obj_cgroup_charge
obj_cgroup_uncharge refill_obj_stock shmem_read_mapping_page_gfp
shmem_get_folio_gfp shmem_get_folio __filemap_get_folio filemap_get_entry
folio_mark_accessed mark_page_accessed folio_mark_dirty set_page_dirty
copy_page_from_iter copy_page_to_iter _copy_from_user _copy_to_user
__check_object_size import_iovec __import_iovec iovec_from_user __wake_up
__wake_up_common __wake_up_common_lock try_to_wake_up mutex_lock
mutex_lock_interruptible mutex_unlock rb_insert_color rb_erase rb_next
rb_first"

echo 0 >$T/tracing_on
echo nop >$T/current_tracer
echo 16384 >$T/buffer_size_kb
echo function_graph >$T/current_tracer
for o in nofuncgraph-irqs nofuncgraph-cpu nofuncgraph-overhead \
	nofuncgraph-proc funcgraph-duration nofuncgraph-abstime; do
	echo $o >$T/trace_options 2>/dev/null || true
done
echo nop >$T/current_tracer
echo '*:mod:bus1' >$T/set_ftrace_filter
imports=
[ -r $KO ] && imports=$("$RUN" --imports $KO)
for f in $imports $EXTRA; do
	echo "$f" >>$T/set_ftrace_filter 2>/dev/null || true
done
echo "# profile: function_graph on $(wc -l <$T/set_ftrace_filter) functions"

# awk: aggregate a function_graph trace of one process. Prints "#" header
# lines and rows "self/it name calls/it self/call incl/it" (values divided
# by div, e.g. per destination). Overhead model (README.md): a traced call
# adds o = a + b instructions, a inside its own measured duration (a = the
# smallest measured leaf), b outside it. true incl = measured - a - o *
# (traced descendants); true self = measured - a - (children's measured) -
# b * (direct traced children). Time in schedule() (other tasks running) is
# cut out of every caller.
# shellcheck disable=SC2016
AGG='
BEGIN { sp = 0; n = 0; lost = 0; holes = 0; amin = -1 }
/^#/ { next }
/LOST/ { lost = 1 }
{
	i = index($0, "|")
	if (!i) next
	left = substr($0, 1, i - 1); s = substr($0, i + 1)
	dur = -1
	if (match(left, /[0-9]+\.[0-9]+ us/))
		dur = substr(left, RSTART, RLENGTH - 3) * 1000
	sub(/^ +/, "", s)
	if (s ~ /\{ *$/) {
		name = s; sub(/\(\).*$/, "", name); sub(/ \[.*\]$/, "", name)
		sp++; st[sp] = name; k[sp] = 0; dn[sp] = 0; an[sp] = 0
		hole[sp] = 0; path[sp] = path[sp - 1] "/" name
		if (!(path[sp] in seen)) { seen[path[sp]] = ++np; ord[np] = path[sp] }
		next
	}
	leaf = 0
	if (s ~ /^\}/) {
		if (sp < 1 || dur < 0) next
		name = st[sp]; sumk = k[sp]; nd = dn[sp]; na = an[sp]
		dur -= hole[sp]; p = path[sp]; sp--
	} else if (s ~ /;/ && dur >= 0) {
		name = s; sub(/\(\).*$/, "", name); sub(/ \[.*\]$/, "", name)
		sumk = 0; nd = 0; na = 0; leaf = 1; p = path[sp] "/" name
	} else next
	if (name ~ /^(schedule|preempt_schedule)/) {
		for (j = 1; j <= sp; j++) hole[j] += dur
		holes += dur
		next
	}
	if (leaf && (amin < 0 || dur < amin)) amin = dur
	if (leaf && !(p in seen)) { seen[p] = ++np; ord[np] = p }
	n++
	rpath[n] = p
	rec[n] = name; rinc[n] = dur; rk[n] = sumk; rnd[n] = nd; rna[n] = na
	rtop[n] = (sp == 0)
	if (sp > 0) { k[sp] += dur; dn[sp]++; an[sp] += 1 + na }
}
END {
	o = n ? ((traced - base) * iters - holes) / n : 0
	a = amin > 0 ? amin : 0
	if (a > o) a = o
	b = o - a
	top = 0
	for (j = 1; j <= n; j++) {
		name = rec[j]; calls[name]++
		incl[name] += rinc[j] - a - rna[j] * o
		selfs[name] += rinc[j] - a - rk[j] - rnd[j] * b
		if (rtop[j]) top += rinc[j] - a - rna[j] * o
		pc[rpath[j]]++
		pi[rpath[j]] += rinc[j] - a - rna[j] * o
		ps[rpath[j]] += rinc[j] - a - rk[j] - rnd[j] * b
	}
	it = iters * div
	printf "#   untraced %.0f instr/iter; %.1f traced calls/iter; tracer overhead %.0f per call (%.0f inside the callee)\n", base, n / iters, o, a
	printf "#   traced top-level calls %.0f/iter; untraced rest (syscall entry/exit, user space) %.0f/iter%s\n", top / iters, base - top / iters, lost ? "; EVENTS LOST" : ""
	printf "#   inclusive per iteration%s:", (div > 1 ? " and destination" : "")
	for (name in calls)
		if (name ~ /^(__x64_sys_ioctl|bus1_cmd_|bus1_peer_ioctl)/)
			printf " %s %.0f", name, incl[name] / it
	printf "\n"
	printf "#   call tree (rows >= %d instructions inclusive): incl self calls function\n", mintree
	for (j = 1; j <= np; j++) {
		p = ord[j]
		if (pi[p] / it < mintree) continue
		d = gsub("/", "/", p)
		nm = p; sub(/^.*\//, "", nm)
		ind = ""
		for (q = 1; q < d; q++) ind = ind "  "
		printf "#   %7.0f %6.0f %6.2f %s%s\n", pi[p] / it, ps[p] / it, pc[p] / it, ind, nm
	}
	for (name in calls)
		printf "%.0f %s %.2f %.0f %.0f\n", selfs[name] / it, name, calls[name] / it, selfs[name] / calls[name], incl[name] / it
}'

prof() {	# prof TITLE DIV CASE ARG ITERS
	title=$1
	div=$2
	shift 2
	echo >$T/trace
	hdr=$("$RUN" --profile "$@") || { echo "# profile $title failed"; return 0; }
	# shellcheck disable=SC2086
	set -- $hdr "$@"
	echo
	echo "## profile: $title (instructions, tracer overhead removed)"
	awk -v base="$2" -v traced="$4" -v iters="$6" -v div="$div" -v mintree="${MINTREE:-40}" "$AGG" $T/trace >/tmp/prof.out
	grep '^#' /tmp/prof.out
	echo "#   flat profile, by self:"
	printf '%-8s %-40s %8s %9s %9s\n' self function calls self/call incl
	grep -v '^#' /tmp/prof.out | sort -rn | head -n "${TOP:-16}" |
		awk '{ printf "%-8s %-40s %8s %9s %9s\n", $1, $2, $3, $4, $5 }'
	echo nop >$T/current_tracer
	echo >$T/set_ftrace_pid
	echo >$T/trace
}

prof "unicast 0 B, per message (the path of section 1)" 1 unicast 0 60
prof "unicast 1 KiB, per message (the path of section 1)" 1 unicast 1024 60
prof "multicast 64 B to 32 destinations incl. drain, per destination" 32 mcast 32 4
echo '*' >$T/set_ftrace_filter 2>/dev/null || true
echo >$T/set_ftrace_filter
exit $rc
