#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the Promela model of bus1's global ordering protocol with spin.
#
# Usage: run-model.sh [CONFIG...]   (default: every config below)
#
# For each config: spin -a with the config's -D switches, gcc pan.c
# (exhaustive safety search with state compression, no bitstate hashing),
# run ./pan, and print one TAP line with the states stored, transitions and
# errors. Real configs must finish with "errors: 0", a complete search, and
# at least MIN_STATES_PCT (default 90) percent of the states recorded below:
# the search is exhaustive and deterministic, so far fewer states means the
# model lost behaviour (a guard too tight, a process that never runs) and
# checked less than it claims. broken-* configs must be rejected by the
# very property each is built to break (G2, G3, G4): an assertion of
# another property would mean that the broken variant, or the model,
# breaks something else. Exits non-zero if anything differs. Generated
# files go to build/<config>/.

set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODEL=$DIR/bus1-order.pml
BUILD=${BUILD:-$DIR/build}
SPIN=${SPIN:-spin}
CC=${CC:-gcc}
MEMLIM=${MEMLIM:-4096}
PAN_CFLAGS=(-O2 -w -DSAFETY -DCOLLAPSE "-DMEMLIM=$MEMLIM")
PAN_FLAGS=(-n -m10000 -w25)
MIN_STATES_PCT=${MIN_STATES_PCT:-90}

# name | expect (pass, or the property that must reject it) | run by default |
# states stored when measured (see README) | spin switches | description
CONFIGS=(
"subsets|pass|yes|3277588|-DNMSG=1 -DNREL=0 -DSINGLE|3 senders x 1 SEND to any nonempty subset of 3 peers, eager receivers"
"receivers|pass|yes|18063425|-DNMSG=1 -DNREL=0 -DREALRECV|3 senders x 1 SEND to any subset of >= 2 peers, 3 concurrent receiver processes"
"sequential|pass|yes|973112|-DNMSG=1 -DNMSG0=2 -DNREL=0 -DFULLDST|sender 0 sends 2 SENDs in a row, senders 1, 2 one each, all to 3 peers"
"release|pass|yes|4197366|-DNMSG=1 -DNREL=1 -DRELANY -DFULLDST|3 SENDs to 3 peers + a NODE_RELEASE on any queue"
"anyorder|pass|yes|3130913|-DNMSG=1 -DNREL=0 -DFULLDST -DANYORDER|3 SENDs to 3 peers, rounds visit destinations in any order"
"unicast|pass|yes|3534471|-DNMSG=1 -DNREL=0 -DSINGLE -DDIRECT|3 senders x 1 SEND to any nonempty subset of 3 peers or a unicast (direct commit) to any peer"
"unicast-seq|pass|yes|3400409|-DNMSG=1 -DNMSG0=2 -DNREL=0 -DFULLDST -DDIRECT|sender 0 sends 2 SENDs in a row, senders 1, 2 one each, each to all 3 peers or a unicast to any peer"
"unicast-release|pass|yes|6045167|-DNMSG=1 -DNREL=1 -DRELANY -DFULLDST -DDIRECT|3 SENDs, each to all 3 peers or a unicast to any peer, + a NODE_RELEASE on any queue"
"broken-1|G2|yes|1794|-DNMSG=1 -DNREL=0 -DSINGLE -DNOINV -DBROKEN=1|broken: no sync round"
"broken-2|G3|yes|438|-DNMSG=1 -DNREL=0 -DSINGLE -DNOINV -DBROKEN=2|broken: commit timestamp not above the staging timestamps"
"broken-3|G2|yes|230|-DNMSG=1 -DNREL=0 -DSINGLE -DNOINV -DBROKEN=3|broken: a staging head does not block"
"broken-4|G4|yes|705|-DNMSG=1 -DNREL=0 -DSINGLE -DNOINV -DBROKEN=4|broken: ties broken per queue, not by the global tag"
"broken-5|G3|yes|8481|-DNMSG=1 -DNREL=0 -DSINGLE -DDIRECT -DNOINV -DBROKEN=5|broken: unicast keyed above its destination clock, the tick not stored"
"big-two|pass|no|51491123|-DNMSG=2 -DNREL=0 -DFULLDST|3 senders x 2 SENDs each, all to 3 peers (3.7 GiB: MEMLIM=8192)"
"unicast-receivers|pass|no|24453783|-DNMSG=1 -DNREL=0 -DREALRECV -DDIRECT|3 senders x 1 SEND to any subset of >= 2 peers or a unicast, 3 concurrent receiver processes"
)

for tool in "$SPIN" "$CC"; do
	if ! command -v "$tool" >/dev/null; then
		echo "run-model.sh: $tool not found (install spin and gcc:" \
			"scripts/bus1-deps.sh)" >&2
		exit 2
	fi
done

selected=("$@")
# want NAME DEFAULT: is config NAME selected (no arguments: the defaults)
want() {
	local s
	((${#selected[@]} == 0)) && [[ $2 == yes ]] && return 0
	for s in "${selected[@]}"; do
		[[ $s == "$1" ]] && return 0
	done
	return 1
}

plan=0
for c in "${CONFIGS[@]}"; do
	IFS='|' read -r name _ dflt _ _ <<<"$c"
	want "$name" "$dflt" && plan=$((plan + 1))
done
if ((plan == 0)); then
	echo "run-model.sh: no such config: ${selected[*]}" >&2
	exit 2
fi

# value of "<number> <what>" in pan's output, e.g. field "states, stored"
field() {
	sed -n "s/^ *\([0-9.e+]*\) $2.*/\1/p" "$1" | head -n 1
}

# how to print the counterexample as a list of protocol steps
replay_hint() {
	[[ -f $1/bus1-order.pml.trail ]] || return 0
	echo "# counterexample: (cd ${1#"$PWD"/} &&"
	echo "#   $SPIN -t -k bus1-order.pml.trail $2 $MODEL)"
}

echo "TAP version 13"
echo "1..$plan"
n=0
failed=0
for c in "${CONFIGS[@]}"; do
	IFS='|' read -r name expect dflt recorded defs desc <<<"$c"
	want "$name" "$dflt" || continue
	n=$((n + 1))
	out=$BUILD/$name
	rm -rf "$out"
	mkdir -p "$out"
	read -r -a defines <<<"$defs"
	start=${EPOCHREALTIME/./}
	if ! (cd "$out" && "$SPIN" "${defines[@]}" -a "$MODEL" >spin.log 2>&1 &&
	      "$CC" "${PAN_CFLAGS[@]}" -o pan pan.c >cc.log 2>&1); then
		echo "not ok $n - $name: spin -a or gcc failed ($desc)"
		sed 's/^/# /' "$out/spin.log" "$out/cc.log" 2>/dev/null |
			tail -n 20
		failed=$((failed + 1))
		continue
	fi
	(cd "$out" && ./pan "${PAN_FLAGS[@]}" >pan.log 2>&1) || true
	ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	log=$out/pan.log
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -n 1)
	stored=$(field "$log" "states, stored")
	trans=$(field "$log" "transitions")
	assertion=$(grep -m1 -o 'assertion violated .*' "$log" || true)
	# the property is the constant in front of the assertion: "(G2&&..."
	prop=$(sed -n 's/^assertion violated (\([A-Z][A-Z0-9]*\)&&.*/\1/p' \
		<<<"$assertion")
	summary="states stored $stored, transitions $trans, errors ${errors:-?}"
	summary+=", $((ms / 1000)).$((ms % 1000 / 100)) s"
	incomplete=$(grep -E -m1 'MEMLIM|out of memory|search depth too small|aborted' \
		"$log" || true)

	if [[ -z $errors || -z $stored ]]; then
		echo "not ok $n - $name: pan did not finish ($desc)"
		sed 's/^/# /' "$log" | tail -n 20
		failed=$((failed + 1))
	elif [[ $expect == pass ]]; then
		# (pan may print large counts as 5.1491123e+07)
		if ((errors == 0)) && [[ -z $incomplete ]] &&
			(($(printf %.0f "$stored") * 100 < recorded * MIN_STATES_PCT)); then
			echo "not ok $n - $name: $summary, far fewer states than the $recorded recorded ($desc)"
			failed=$((failed + 1))
		elif ((errors == 0)) && [[ -z $incomplete ]]; then
			echo "ok $n - $name: $summary ($desc)"
		else
			echo "not ok $n - $name: $summary ($desc)"
			echo "# ${assertion:-$incomplete}"
			replay_hint "$out" "$defs"
			failed=$((failed + 1))
		fi
	else
		if ((errors > 0)) && [[ $prop == "$expect" ]]; then
			echo "ok $n - $name rejected by $prop: $summary ($desc)"
			echo "# $assertion"
			replay_hint "$out" "$defs"
		elif ((errors > 0)) && [[ -n $assertion ]]; then
			echo "not ok $n - $name rejected by ${prop:-?}, not by $expect: $summary ($desc)"
			echo "# $assertion"
			replay_hint "$out" "$defs"
			failed=$((failed + 1))
		else
			echo "not ok $n - $name was NOT rejected: $summary ($desc)"
			failed=$((failed + 1))
		fi
	fi
done

echo "# $((n - failed)) of $n as expected"
((failed == 0))
