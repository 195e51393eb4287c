#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: documentation builds and is complete.
#  - `make man` renders the man pages; rst2man --halt=warning accepts every
#    man page in Documentation/bus1/; `man -l` renders them without warnings
#  - every other Documentation/bus1/*.rst parses with plain docutils
#  - every complete C program in the documents (bus1(7) EXAMPLES must have
#    one) compiles with -Wall -Wextra -Werror
#  - the fdinfo keys of the conventions are all documented in bus1(7)
#  - scripts/kernel-doc (linux-source-6.1) reports 0 warnings on every
#    ipc/bus1/*.c and *.h, every non-static function in ipc/bus1/*.c has a
#    kernel-doc comment, and every documented non-void function says what
#    it returns ("Return:" section, as kernel-doc -Wreturn wants)
# Prints TAP, exits non-zero on failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
DOC=$ROOT/Documentation/bus1
BUS1_CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
KERNEL_DOC=${KERNEL_DOC:-$BUS1_CACHE/linux-source-6.1/scripts/kernel-doc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"
: >"$TAP_DIAG"

echo "TAP version 13"

have_rst2man=1
command -v rst2man >/dev/null || have_rst2man=0

# The plan, first: what the checks below will iterate over is known before
# any of them runs (the C programs are extracted here, compiled in 5.).
mapfile -t man_rst < <(grep -l '^:Manual section:' "$DOC"/*.rst | sort)
mapfile -t other_rst < <(grep -L '^:Manual section:' "$DOC"/*.rst | sort)
mkdir "$TMP/prog"
n_prog=0
for f in "$DOC"/*.rst; do
	name=$(basename "$f")
	mkdir "$TMP/prog/$name"
	awk -v out="$TMP/prog/$name/block-" '
	/^\.\. code-block:: c$/ { f = 1; n++; next }
	f && /^[^ ]/ { f = 0 }
	f { sub(/^    /, ""); print > (out n ".c") }' "$f"
	for c in "$TMP/prog/$name"/block-*.c; do
		[[ -f $c ]] || continue
		if grep -q 'int main(' "$c"; then
			n_prog=$((n_prog + 1))
			[[ $name == bus1.rst ]] && have_example=1
		else
			rm "$c"
		fi
	done
done
# make man; 2 per man page (or 1 if there is none); docutils per other
# document; the programs (+1 if bus1(7) has none); fdinfo; 3 kernel-doc
tap_plan $((1 + (${#man_rst[@]} ? 2 * ${#man_rst[@]} : 1) + ${#other_rst[@]} +
	n_prog + (${have_example:-0} ? 0 : 1) + 1 + 3))

# 1. make man
if ((!have_rst2man)); then
	skip "make man" "rst2man missing (python3-docutils)"
elif make -s -C "$DOC" man >"$TMP/diag" 2>&1; then
	ok "make man"
else
	not_ok "make man"
fi

# 2. every man page source passes rst2man --halt=warning
if ((${#man_rst[@]} == 0)); then
	echo "Documentation/bus1 has no man page source" >"$TMP/diag"
	not_ok "man page sources present"
fi
for f in "${man_rst[@]}"; do
	name=$(basename "$f")
	if ((!have_rst2man)); then
		skip "rst2man --halt=warning $name" "rst2man missing"
	elif rst2man --halt=warning --exit-status=warning "$f" \
			"$TMP/${name%.rst}.man" >"$TMP/diag" 2>&1; then
		ok "rst2man --halt=warning $name"
	else
		not_ok "rst2man --halt=warning $name"
	fi
done

# 3. man -l renders every built page, at 80 columns, without warnings
for f in "${man_rst[@]}"; do
	name=$(basename "$f" .rst)
	page=$(find "$DOC/out" -maxdepth 1 -name "$name.[1-9]" 2>/dev/null |
		head -n 1)
	if ! command -v man >/dev/null; then
		skip "man -l $name" "man missing (man-db)"
	elif [[ -z $page ]]; then
		echo "no rendered page for $name in $DOC/out" >"$TMP/diag"
		not_ok "man -l $name"
	elif MANWIDTH=80 man -l "$page" \
			>"$TMP/$name.txt" 2>"$TMP/diag" &&
			[[ ! -s $TMP/diag ]] &&
			grep -q '^NAME' "$TMP/$name.txt" &&
			grep -q '^SEE ALSO' "$TMP/$name.txt"; then
		ok "man -l $name ($(wc -l <"$TMP/$name.txt") lines)"
	else
		echo "man -l $page failed, warned, or lacks NAME/SEE ALSO" \
			>>"$TMP/diag"
		not_ok "man -l $name"
	fi
done

# 4. the other documents parse with plain docutils (no Sphinx-only syntax)
for f in "${other_rst[@]}"; do
	name=$(basename "$f")
	if ! command -v rst2pseudoxml >/dev/null; then
		skip "docutils parses $name" "rst2pseudoxml missing"
	elif rst2pseudoxml --halt=warning --exit-status=warning "$f" \
			/dev/null >"$TMP/diag" 2>&1; then
		ok "docutils parses $name"
	else
		not_ok "docutils parses $name"
	fi
done

# 5. every complete C program (a "code-block:: c" with main()) in the
#    documents compiles with -Wall -Wextra -Werror; bus1(7) must have one
#    (extracted above, with the plan)
for f in "$DOC"/*.rst; do
	name=$(basename "$f")
	for c in "$TMP/prog/$name"/block-*.c; do
		[[ -f $c ]] || continue
		label="$name: C program $(basename "$c" .c | tr -dc 0-9) compiles"
		if ${CC:-gcc} -std=gnu11 -Wall -Wextra -Werror \
				-I"$ROOT/include/uapi" \
				-I"$ROOT/tools/lib/bus1/include" \
				-c -o "$TMP/prog.o" "$c" >"$TMP/diag" 2>&1; then
			ok "$label"
		else
			not_ok "$label"
		fi
	done
done
if [[ -z ${have_example:-} ]]; then
	echo "no complete C program in bus1.rst EXAMPLES" >"$TMP/diag"
	not_ok "bus1(7) has a C example"
fi

# 6. every fdinfo key of the conventions is documented
: >"$TMP/diag"
for key in bus1-peer bus1-queued bus1-pool-bytes bus1-pool-slices \
		bus1-handles bus1-nodes bus1-charge-slices bus1-charge-handles \
		bus1-charge-bytes bus1-charge-fds; do
	grep -q "^    \`\`$key\`\`\$" "$DOC/bus1.rst" ||
		echo "fdinfo key $key not documented" >>"$TMP/diag"
done
if [[ -s $TMP/diag ]]; then
	not_ok "bus1(7) documents every fdinfo field"
else
	ok "bus1(7) documents every fdinfo field"
fi

# 7. kernel-doc on the module sources
# (not the generated *.mod.c of a build)
mapfile -t srcs < <(find "$ROOT/ipc/bus1" -maxdepth 1 -name '*.[ch]' \
	! -name '*.mod.c' | sort)
if [[ ! -x $KERNEL_DOC ]]; then
	skip "kernel-doc: 0 warnings" "$KERNEL_DOC missing (make deps)"
	skip "kernel-doc: non-static functions documented" "no kernel-doc"
	skip "kernel-doc: Return: sections" "no kernel-doc"
else
	# -none exits 0 whatever it finds (warnings are read from stderr),
	# unless -Werror is set through the environment (unset here) or the
	# script itself died: a crash must not read as "0 warnings".
	kdoc_rc=0
	env -u KDOC_WERROR -u KCFLAGS "$KERNEL_DOC" -none "${srcs[@]}" \
		>/dev/null 2>"$TMP/kdoc.err" || kdoc_rc=$?
	grep -E 'warning:|error:|Error:' "$TMP/kdoc.err" |
		sed "s|$ROOT/||" >"$TMP/diag" || true
	if ((kdoc_rc != 0)); then
		{ echo "kernel-doc exited with status $kdoc_rc:"
		  tail -n 20 "$TMP/kdoc.err"; } >"$TMP/diag"
		not_ok "kernel-doc: 0 warnings (kernel-doc failed, status $kdoc_rc)"
	elif [[ -s $TMP/diag ]]; then
		not_ok "kernel-doc: 0 warnings ($(wc -l <"$TMP/diag") found)"
	else
		ok "kernel-doc: 0 warnings in ${#srcs[@]} files"
	fi

	# non-static functions defined in .c files (kernel style: the
	# definition starts at column 0 and is not a declaration)
	: >"$TMP/diag"
	: >"$TMP/noret"
	total=0
	for f in "${srcs[@]}"; do
		[[ $f == *.c ]] || continue
		# (a "static ..." line without a parenthesis is the return
		# type of a static function whose name starts the next line)
		awk '
		/^[A-Za-z_][A-Za-z0-9_]*:/ { prev = $0; next }	# goto label
		/^[A-Za-z_]/ && !/^(static|typedef|struct [a-z0-9_]+ \{|enum|union|extern|#)/ &&
		    prev !~ /^static[^(;]*$/ {
			line = nxt = $0
			while (line !~ /[;{)]\s*$/ && (getline nxt) > 0)
				line = line " " nxt
			prev = nxt
			if (line ~ /;\s*$/ || line !~ /\(/)
				next
			sub(/\(.*/, "", line)
			n = split(line, w, /[ \t*]+/)
			if (w[n] ~ /^[A-Za-z_][A-Za-z0-9_]*$/)
				print w[n]
			next
		}
		{ prev = $0 }' "$f" | sort -u >"$TMP/defs"
		# (-rst exits with its count of errors: any is a failure, and
		# a crash must not read as "nothing documented here")
		rc=0
		env -u KDOC_WERROR -u KCFLAGS "$KERNEL_DOC" -rst \
			-no-doc-sections "$f" 2>/dev/null >"$TMP/rst" || rc=$?
		if ((rc != 0)); then
			echo "${f#"$ROOT"/}: kernel-doc -rst exited with status $rc" |
				tee -a "$TMP/noret" >>"$TMP/diag"
		fi
		sed -n 's/^\.\. c:function:: .*[ *]\([A-Za-z_0-9]*\) (.*/\1/p' \
			"$TMP/rst" | sort -u >"$TMP/documented"
		while IFS= read -r fn; do
			total=$((total + 1))
			echo "${f#"$ROOT"/}: $fn() has no kernel-doc comment" \
				>>"$TMP/diag"
		done < <(comm -23 "$TMP/defs" "$TMP/documented")
		# documented non-void functions need a Return: section
		awk -v file="${f#"$ROOT"/}" '
		function flush() {
			if (fn != "" && !isvoid && !ret)
				print file ": " fn "() has no Return: section"
		}
		/^\.\. c:function::/ {
			flush()
			ret = 0
			isvoid = ($0 ~ /^\.\. c:function:: (static )?(inline )?void [A-Za-z_]/)
			fn = $0
			sub(/ \(.*/, "", fn)
			sub(/.*[ *]/, "", fn)
			next
		}
		/^\.\. c:/ { flush(); fn = "" }
		/^\*\*Return\*\*/ { ret = 1 }
		END { flush() }' "$TMP/rst" >>"$TMP/noret"
	done
	if [[ -s $TMP/diag ]]; then
		not_ok "kernel-doc: non-static functions documented ($total missing)"
	else
		ok "kernel-doc: every non-static function documented"
	fi
	cp "$TMP/noret" "$TMP/diag"
	if [[ -s $TMP/diag ]]; then
		not_ok "kernel-doc: Return: sections ($(wc -l <"$TMP/diag") missing)"
	else
		ok "kernel-doc: every documented non-void function has Return:"
	fi
fi

tap_end
