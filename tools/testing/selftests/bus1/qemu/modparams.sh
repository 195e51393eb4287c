# SPDX-License-Identifier: GPL-2.0
#
# modparams.sh - sourced by the rig's /init (busybox sh): bus1's writable
# module parameters are put back to their values after insmod between test
# executables, so that one test that is killed before it restores a limit
# it raised cannot fail the tests after it. host/test-rig.sh sources it on a
# fake parameter directory.
#
# The caller defines out() (writes one line to the results channel).
# PARAMS_DIR is the parameter directory, PARAMS_BOOT where the values after
# insmod are kept (one file per parameter).

PARAMS_DIR=${PARAMS_DIR:-/sys/module/bus1/parameters}
PARAMS_BOOT=${PARAMS_BOOT:-/run/bus1-rig/params}

# params_record: keep the current value of every writable parameter and
# print them as "name=value ..."; fails if none is writable (then nothing
# would be put back, and the caller's result says so).
params_record() {
	rm -rf "$PARAMS_BOOT"
	mkdir -p "$PARAMS_BOOT" || return 1
	pr_list=
	for pr_f in "$PARAMS_DIR"/*; do
		[ -f "$pr_f" ] || continue
		# the mode, not "test -w", which root passes for 0444 files
		# (a parameter without a store method)
		case $(stat -c %A "$pr_f") in
		??w*) ;;
		*) continue ;;
		esac
		cat "$pr_f" >"$PARAMS_BOOT/${pr_f##*/}" || return 1
		pr_list="$pr_list ${pr_f##*/}=$(cat "$PARAMS_BOOT/${pr_f##*/}")"
	done
	echo "${pr_list# }"
	[ -n "$pr_list" ]
}

# params_check NAME RC: after executable NAME exited with RC, report each
# recorded parameter it left changed as a note and write the recorded value
# back. A test that failed or was killed fails the run already and only gets
# the reset. One that exited 0 leaked state that the tests after it would
# have run with, which is a bug of that test: a failing result (section
# params-after-NAME), as is a value that cannot be written back.
params_check() {
	pc_left=''
	pc_bad=0
	for pc_b in "$PARAMS_BOOT"/*; do
		[ -f "$pc_b" ] || continue
		pc_p=${pc_b##*/}
		pc_boot=$(cat "$pc_b")
		pc_now=$(cat "$PARAMS_DIR/$pc_p" 2>/dev/null) || pc_now="(unreadable)"
		[ "$pc_now" = "$pc_boot" ] && continue
		# (a subshell: a failing redirection must not end PID 1)
		(echo "$pc_boot" >"$PARAMS_DIR/$pc_p") 2>/dev/null
		if [ "$(cat "$PARAMS_DIR/$pc_p" 2>/dev/null)" = "$pc_boot" ]; then
			pc_how=reset
		else
			pc_how="reset FAILED"
			pc_bad=1
		fi
		out "# bus1-rig: note $1 left $pc_p $pc_now (boot $pc_boot); $pc_how"
		pc_left="$pc_left, $pc_p $pc_now (boot $pc_boot)"
	done
	[ -n "$pc_left" ] || return 0
	[ "$2" = 0 ] || [ $pc_bad = 1 ] || return 0
	out "# bus1-rig: begin params-after-$1"
	if [ $pc_bad = 1 ]; then
		out "not ok 1 module parameters after $1 (exit $2) cannot be put back: ${pc_left#, }"
	else
		out "not ok 1 $1 exited 0 but left module parameters changed: ${pc_left#, }"
	fi
	out "1..1"
	out "# bus1-rig: end params-after-$1 0"
}
