# SPDX-License-Identifier: GPL-2.0
#
# tap.awk - turn the results channel of a bus1 rig run into a verdict.
#
# Input: sections "# bus1-rig: begin NAME" ... "# bus1-rig: end NAME RC [S]",
# each holding the TAP output of one executable (RC = its exit status, 124 =
# killed by the per-test timeout; S = seconds it ran). "# bus1-rig: note X"
# is printed as the comment "# X"; other "# bus1-rig:" lines are ignored.
# "# bus1-rig: missing NAME" says the guest had no executable NAME.
# Variables: prefix (printed before every result line), raw (a section name
# whose output is printed verbatim and judged by its exit status only),
# counts (file that receives "PASSED FAILED SKIPPED"), limit (the rig's
# per-executable timeout in seconds, init's TEST_TIMEOUT), expected (the names
# of the sections that must appear, space-separated: each one missing is
# reported as "not ok - NAME never ran" and counts one failure), allow (if
# set, the skip allowlist: lines "NAME: reason", NAME an executable or
# "executable/case", case as in the harness's "#  RUN" line or the first
# word of the TAP description; then every skip not on it is a failure).
#
# Counting: every top-level "ok"/"not ok" line is one test case ("ok ... #
# SKIP" is a skip). An executable additionally counts one failure when it
# timed out, exited non-zero without any "not ok" (crash), printed fewer
# or more results than its plan, printed no results at all, or never
# finished. A
# kselftest skip (exit 4 or plan "1..0") without results counts one skip.
# The output of a failing executable is printed as "#|" lines (without its
# passing results and the harness's RUN/OK progress lines). Each executable
# ends with a count line "# PREFIX NAME: N passed, N failed, N skipped
# (plan N), S s of LIMIT" (seconds from the end marker; the plan, the
# seconds and "of LIMIT" only when known). One that ran more than a third of
# LIMIT gets a note "# PREFIX headroom: NAME S s of LIMIT": CI's machines
# may be 2x slower than the one that printed it, so it is near its limit.

# is the skip on line @line of section @name allowed?
function skip_allowed(line,    c)
{
	if (allow == "")
		return 1
	if (name in allowed)
		return 1
	# the case: the first word after "ok N" (and a "-"), or the name
	# of the last harness "#  RUN" line (6.1's harness prints "ok N #
	# SKIP reason" without the name)
	c = line
	sub(/^ok +[0-9]* *(- *)?/, "", c)
	sub(/[ \t].*/, "", c)
	if (c == "" || c == "#")
		c = lastrun
	return (name "/" c) in allowed
}

function skip_refused(line)
{
	sf++
	printf "%snot ok - %s: skip not in %s: %s\n", prefix, name,
		allow_short, line
}

function flush_section(endrc,    i, extra, why, nres, secs)
{
	nres = sp + sf + ss
	extra = 0
	why = ""
	if (endrc == "") {
		extra = 1; why = "never finished (VM died or timed out)"
	} else if (endrc == 124) {
		extra = 1; why = "killed by the per-test timeout"
	} else if (name == raw) {
		if (endrc != 0) { extra = 1; why = "exited with status " endrc }
		else sp++
	} else if (endrc != 0 && endrc != 4 && sf == 0) {
		extra = 1; why = "exited with status " endrc " without 'not ok'"
	} else if (plan > 0 && nres < plan && endrc != 4) {
		extra = 1; why = "only " nres " of " plan " planned results"
	} else if (plan >= 0 && nres > plan) {
		extra = 1; why = nres " results, more than the plan of " plan
	} else if (nres == 0 && (plan == 0 || endrc == 4)) {
		if (skip_allowed(name))
			ss++
		else
			skip_refused("the whole executable skipped (" \
				(plan == 0 ? "plan 1..0" : "exit 4") ")")
	} else if (nres == 0) {
		extra = 1; why = "no TAP results"
	}
	sf += extra
	if (extra)
		printf "%snot ok - %s: %s\n", prefix, name, why
	if (sf > 0 && name != raw)
		for (i = 1; i <= nl; i++)
			printf "#| %s%s\n", prefix, buf[i]
	secs = ""
	if (name in dur)
		secs = ", " dur[name] " s" (limit != "" ? " of " limit : "")
	if (name != raw)
		printf "# %s%s: %d passed, %d failed, %d skipped%s%s\n", prefix,
			name, sp, sf, ss, (plan >= 0 ? " (plan " plan ")" : ""),
			secs
	if (name in dur && limit + 0 > 0 && 3 * dur[name] > limit + 0)
		printf "# %sheadroom: %s %s s of %s\n", prefix, name,
			dur[name], limit
	P += sp; F += sf; S += ss
	ran[name] = 1
	insec = 0
}

BEGIN {
	P = F = S = 0; insec = 0
	nexp = split(expected, exp_name, " ")
	allow_short = allow
	sub(/.*\//, "", allow_short)
	if (allow != "") {
		while ((r = getline l < allow) > 0) {
			if (l ~ /^[ \t]*(#|$)/)
				continue
			if (l !~ /^[^ \t:]+: *[^ \t]/) {
				printf "%snot ok - %s: malformed line \"%s\"" \
					" (want \"NAME: reason\")\n", prefix,
					allow_short, l
				F++
				continue
			}
			sub(/:.*/, "", l)
			allowed[l] = 1
		}
		if (r < 0) {
			printf "%snot ok - cannot read %s\n", prefix, allow
			F++
		}
		close(allow)
	}
}

{ sub(/\r$/, "") }

/^# bus1-rig: begin / {
	if (insec)
		flush_section("")
	name = $4; insec = 1; nl = 0; sp = sf = ss = 0; plan = -1
	next
}

/^# bus1-rig: end / {
	if (insec && $4 == name) {
		if ($6 != "")
			dur[name] = $6
		flush_section($5)
	}
	next
}

/^# bus1-rig: missing / {
	missing[$4] = 1
	next
}

/^# bus1-rig: note / {
	sub(/^# bus1-rig: note /, "")
	printf "# %s%s\n", prefix, $0
	next
}

/^# bus1-rig:/ { next }

!insec { next }

/^#  RUN  / { lastrun = $3 }

name == raw || !/^(ok |#  RUN  |# +OK  )/ {
	if (nl < 400)
		buf[++nl] = $0
	else if (nl == 400)
		buf[++nl] = "... (output truncated)"
}

name == raw { print; next }

/^1\.\.[0-9]+/ {
	plan = substr($1, 4) + 0
	next
}

/^ok( |$)/ {
	printf "%s%s: %s\n", prefix, name, $0
	if (tolower($0) !~ /# *skip/)
		sp++
	else if (skip_allowed($0))
		ss++
	else
		skip_refused($0)
	next
}

/^not ok( |$)/ {
	sf++
	printf "%s%s: %s\n", prefix, name, $0
	next
}

END {
	if (insec)
		flush_section("")
	for (k = 1; k <= nexp; k++) {
		if (exp_name[k] in ran)
			continue
		printf "%snot ok - %s never ran%s\n", prefix, exp_name[k],
			(exp_name[k] in missing) ? \
			" (no such executable: not built, copied or executable)" : ""
		F++
	}
	# the slowest executables (guest seconds), to see where the time goes
	line = ""
	for (k = 0; k < 5; k++) {
		best = ""
		for (t in dur)
			if (!(t in shown) && (best == "" || dur[t] + 0 > dur[best] + 0))
				best = t
		if (best == "" || dur[best] < 5)
			break
		shown[best] = 1
		line = line (line == "" ? "" : ", ") best " " dur[best] " s"
	}
	if (line != "")
		printf "# %sslowest: %s%s\n", prefix, line,
			(limit != "" ? " (limit " limit " s each)" : "")
	if (counts != "")
		print P, F, S > counts
}
