# SPDX-License-Identifier: MIT
# plot.gp - ipcmark's comparison plots (DESIGN.md §8), PNG and SVG. Run by `ipcmark plot`
# as `gnuplot params.gp plot.gp` inside the output folder; params.gp names the data files.
#
# params.gp defines, for each plot P in tput_size, latency, tput_pxc, pool, tput_cpu:
#   P_files, P_titles   space-separated data files and their series names (P absent:
#                       no data, plot skipped); P_note  what slice of the sweep is drawn
#   subtitle            host, CPU, kernel and date; pxc_labels  the P x C categories
# Data columns: x median min max (rates per second); latency: x=1/(1-p) latency_ns;
# tput_cpu: cpu_ns rate cpu_min cpu_max rate_min rate_max label (size/PxC).

if (!exists("subtitle")) subtitle = ''

# Okabe-Ito colours of different lightness, each with its own dash and point type, so
# the lines stay distinguishable printed in grey. python-mp (a reference, not a backend
# under test) always takes linetype 8: grey, long dashes.
set linetype 1 lc rgb '#000000' lw 2 dt 1 pt 7 ps 1.1
set linetype 2 lc rgb '#E69F00' lw 2 dt 2 pt 5 ps 1.1
set linetype 3 lc rgb '#0072B2' lw 2 dt 4 pt 9 ps 1.3
set linetype 4 lc rgb '#009E73' lw 2 dt 5 pt 13 ps 1.3
set linetype 5 lc rgb '#CC79A7' lw 2 dt 3 pt 11 ps 1.3
set linetype 6 lc rgb '#56B4E9' lw 2 dt (8,4,2,4) pt 6 ps 1.1
set linetype 7 lc rgb '#D55E00' lw 2 dt (2,2) pt 4 ps 1.1
set linetype 8 lc rgb '#999999' lw 2 dt (12,4) pt 8 ps 1.3
set linetype cycle 8

set grid xtics ytics mxtics mytics lc rgb '#dddddd' lw 1 dt 1
set border lw 1
set key outside right top box opaque noenhanced samplen 4 spacing 1.2
set tics nomirror
set mxtics 10
set mytics 10

isref(t) = (t eq 'python-mp')
if (!exists("backends")) backends = ''
# The linetype of a series: its backend's rank in `backends` (python-mp: 8), so a
# backend looks the same in every plot. "pipe,cross-cpu" is backend pipe.
be_of(t) = strstrt(t, ',') ? t[1:strstrt(t, ',') - 1] : t
rank_of(t) = sum [k = 1:words(backends)] (word(backends, k) eq be_of(t) ? k : 0)
lt_of(t) = isref(t) ? 8 : rank_of(t) > 0 ? (rank_of(t) - 1) % 7 + 1 : 7
# Cross-CPU latency series are dashed, same-CPU solid; the point type stays the backend's.
dt_of(t) = strstrt(t, 'cross') ? 2 : 1

# Both terminals for every plot: PNG for documents and chat, SVG for print.
array terms[2] = ["pngcairo size 1000,650 font 'DejaVu Sans,11' noenhanced", \
                  "svg size 1000,650 font 'DejaVu Sans,11' noenhanced background rgb 'white'"]
array exts[2] = ["png", "svg"]

# ---------------------------------------------------------- throughput vs size
if (exists("tput_size_files") && words(tput_size_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("tput_size.%s", exts[t])
        set title sprintf("Throughput vs message size (%s)\n%s", tput_size_note, subtitle) noenhanced
        set logscale xy 2
        set logscale y 10
        set format x '%.0b%B'
        set format y '%.0s%c'
        set xlabel 'message size (bytes)'
        set ylabel 'throughput (messages/s; median, bars: min-max of repetitions)'
        plot for [i = 1:words(tput_size_files)] word(tput_size_files, i) \
             using 1:2:3:4 with yerrorlines lt lt_of(word(tput_size_titles, i)) \
             title word(tput_size_titles, i)
        unset logscale
        set format x '% h'
        set format y '% h'
    }
}

# ------------------------------------------------------ latency percentile spectrum
if (exists("latency_files") && words(latency_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("latency.%s", exts[t])
        set title sprintf("Latency percentile spectrum (%s)\n%s", latency_note, subtitle) noenhanced
        set logscale x 10
        set logscale y 10
        set xrange [1.5:15000]
        set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000)
        set mxtics default
        set xlabel 'percentile (axis: 1/(1-p))'
        set ylabel 'round-trip latency (microseconds)'
        set format y '%g'
        plot for [i = 1:words(latency_files)] word(latency_files, i) \
             using 1:($2/1000.0) with linespoints lt lt_of(word(latency_titles, i)) \
             dt dt_of(word(latency_titles, i)) title word(latency_titles, i)
        unset logscale
        unset xrange
        set xtics autofreq
        set mxtics 10
    }
}

# ------------------------------------------------ throughput vs producers x consumers
if (exists("tput_pxc_files") && words(tput_pxc_files) > 0) {
    pxc_index(s) = sum [k = 1:words(pxc_labels)] (word(pxc_labels, k) eq s ? k : 0)
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("tput_pxc.%s", exts[t])
        set title sprintf("Throughput vs producers x consumers (%s)\n%s", tput_pxc_note, subtitle) noenhanced
        set logscale y 10
        set format y '%.0s%c'
        set xrange [0.5:words(pxc_labels) + 0.5]
        set xtics ()
        do for [k = 1:words(pxc_labels)] { set xtics add (word(pxc_labels, k) k) }
        set mxtics 1
        set xlabel 'producers x consumers'
        set ylabel 'throughput (messages/s; median, bars: min-max)'
        plot for [i = 1:words(tput_pxc_files)] word(tput_pxc_files, i) \
             using (pxc_index(strcol(1))):2:3:4 with yerrorlines lt lt_of(word(tput_pxc_titles, i)) \
             title word(tput_pxc_titles, i)
        unset logscale
        unset xrange
        set xtics autofreq
        set format y '% h'
        set mxtics 10
    }
}

# --------------------------------------------------------- pool tasks/s vs workers
if (exists("pool_files") && words(pool_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("pool.%s", exts[t])
        set title sprintf("Pool map: tasks/s vs workers (%s)\n%s", pool_note, subtitle) noenhanced
        set logscale x 2
        set logscale y 10
        set format x '%g'
        set format y '%.0s%c'
        set xlabel 'workers (processes)'
        set ylabel 'tasks/s (median, bars: min-max of repetitions)'
        # Room either side, so the error bars of 1 and 8 workers are not drawn on the border.
        set offsets graph 0.04, graph 0.04, 0, 0
        plot for [i = 1:words(pool_files)] word(pool_files, i) \
             using 1:2:3:4 with yerrorlines lt lt_of(word(pool_titles, i)) \
             title (isref(word(pool_titles, i)) ? 'python-mp (reference)' : word(pool_titles, i))
        unset logscale
        unset offsets
        set format y '% h'
    }
}
# ------------------------------------- throughput against CPU cost per message
# One point per backend and case: up and to the left is better, so the efficient
# frontier (most messages for the least CPU) is the upper-left edge of the cloud.
if (exists("tput_cpu_files") && words(tput_cpu_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("tput_cpu.%s", exts[t])
        set title sprintf("Throughput vs CPU per message (all participants)\n%s", subtitle) noenhanced
        set logscale xy 10
        set format x '%.0s%c'
        set format y '%.0s%c'
        set xlabel 'CPU time per message (ns, user + system; bars: min-max)'
        set ylabel 'throughput (messages or tasks/s; bars: min-max)'
        plot for [i = 1:words(tput_cpu_files)] word(tput_cpu_files, i) \
             using 1:2:3:4:5:6 with xyerrorbars lt lt_of(word(tput_cpu_titles, i)) \
             title word(tput_cpu_titles, i), \
             for [i = 1:words(tput_cpu_files)] word(tput_cpu_files, i) \
             using 1:2:7 with labels offset char 0.6,0.6 left font ',8' notitle
        unset logscale
        set format x '% h'
        set format y '% h'
    }
}
set output
