#!/bin/sh
# SPDX-License-Identifier: MIT
# commands.sh IPCMARK OUT - the help2man include file for ipcmark(1): a COMMANDS section
# with each command's own --help text, so the manual page says what --help says.
set -eu
ipcmark=$1
out=$2
{
    cat <<'HEAD'
[DESCRIPTION]
ipcmark measures and verifies inter-process communication mechanisms (pipes, socket
pairs, POSIX message queues, a shared-memory ring and more) behind one interface.
Without a command it runs the default suite: the backends and this host's limits, a
selftest, the quick conformance check, a short benchmark, result files under results/
and plots.

[COMMANDS]
Each command takes \fB\-\-help\fR, which prints the text below.
HEAD
    for cmd in $("$ipcmark" --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'); do
        printf '.SS "ipcmark %s"\n.nf\n' "$cmd"
        # roff: a backslash is \e; a line may not start with a control character.
        "$ipcmark" "$cmd" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
        printf '.fi\n'
    done
    cat <<'TAIL'

[FILES]
.TP
.I results/
result files of the default run (JSON and CSV) and its plots
.TP
.I share/ipcmark/plot.gp
the gnuplot script of \fBipcmark plot\fR, found relative to the binary
(\fB$IPCMARK_PLOT_GP\fR overrides it)

[SEE ALSO]
.BR libipcmark (3),
.BR gnuplot (1)
TAIL
} >"$out"
