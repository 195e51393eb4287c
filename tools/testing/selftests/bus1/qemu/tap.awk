# SPDX-License-Identifier: GPL-2.0
#
# tap.awk - turn the results channel of a bus1 rig run into a verdict.
#
# Input: sections "# bus1-rig: begin NAME" ... "# bus1-rig: end NAME RC [S]",
# each holding the TAP output of one executable (RC = its exit status, 124 =
# killed by the per-test timeout; S = seconds it ran). "# bus1-rig: note X"
# is printed as the comment "# X"; other "# bus1-rig:" lines are ignored.
# Variables: prefix (printed before every result line), raw (a section name
# whose output is printed verbatim and judged by its exit status only),
# counts (file that receives "PASSED FAILED SKIPPED").
#
# Counting: every top-level "ok"/"not ok" line is one test case ("ok ... #
# SKIP" is a skip). An executable additionally counts one failure when it
# timed out, exited non-zero without any "not ok" (crash), printed fewer
# results than its plan, printed no results at all, or never finished. A
# kselftest skip (exit 4 or plan "1..0") without results counts one skip.
# The output of a failing executable is printed as "#|" lines (without its
# passing results and the harness's RUN/OK progress lines).

function flush_section(endrc,    i, extra, why, nres)
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
	} else if (nres == 0 && (plan == 0 || endrc == 4)) {
		ss++
	} else if (nres == 0) {
		extra = 1; why = "no TAP results"
	}
	sf += extra
	if (extra)
		printf "%snot ok - %s: %s\n", prefix, name, why
	if (sf > 0 && name != raw)
		for (i = 1; i <= nl; i++)
			printf "#| %s%s\n", prefix, buf[i]
	P += sp; F += sf; S += ss
	insec = 0
}

BEGIN { P = F = S = 0; insec = 0 }

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

/^# bus1-rig: note / {
	sub(/^# bus1-rig: note /, "")
	printf "# %s%s\n", prefix, $0
	next
}

/^# bus1-rig:/ { next }

!insec { next }

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
	if (tolower($0) ~ /# *skip/) ss++; else sp++
	printf "%s%s: %s\n", prefix, name, $0
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
		printf "# %sslowest: %s\n", prefix, line
	if (counts != "")
		print P, F, S > counts
}
