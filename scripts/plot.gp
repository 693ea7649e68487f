# SPDX-License-Identifier: MIT
# plot.gp - ipcmark's comparison plots (DESIGN.md §8), PNG and SVG. Run by `ipcmark plot`
# as `gnuplot params.gp plot.gp` inside the output folder; params.gp names the data files.
#
# params.gp defines, for each plot P in tput_size, latency, tput_pxc, pool, tput_cpu,
# tput_gbs, sync_handoff, sync_contended, sync_barrier:
#   P_files, P_titles   space-separated data files and their series names (P absent:
#                       no data, plot skipped); P_note  what slice of the sweep is drawn
#   P_skip_n, P_skip_xK, P_skip_tK  (tput_size, tput_gbs) the cases of the slice that did
#                       not run: message size and "backend, size: skipped: reason"
#   subtitle            host, CPU, kernel and date; pxc_labels  the P x C categories;
#   latency_xmax        the highest percentile drawn; sync_impls  the lock implementations
# Data columns: x median min max (rates per second; tput_gbs bytes per second);
# latency: x=1/(1-p) latency_ns min max (bars: lowest and highest repetition's p50 / p99);
# tput_cpu: cpu_ns rate cpu_min cpu_max rate_min rate_max label (size/PxC);
# sync_handoff: implementation p50_ns min max; sync_barrier: parties p50_ns min max.
#
# Every value axis says whether higher or lower is better. Bars are always the lowest and
# highest of the repetitions (not a confidence interval).

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
set encoding utf8
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
# Legend text: "pipe,cross-cpu" reads "pipe, across CPUs".
place_name(p) = p eq 'cross-cpu' ? 'across CPUs' : p eq 'same-cpu' ? 'on one CPU' : \
                p eq 'unpinned' ? 'unpinned' : p
label_of(t) = strstrt(t, ',') ? be_of(t) . ', ' . place_name(t[strstrt(t, ',') + 1:]) : \
              isref(t) ? 'python-mp (reference)' : t

# The cases of a slice that did not run: a mark on the x axis at their size, and the
# reason written in the plot (from the results file's skipped or failed case).
not_run_labels(P) = sprintf("\
    if (exists('%s_skip_n')) { \
        do for [k = 1:%s_skip_n] { \
            set label 200 + 2 * k '×' at first value(sprintf('%s_skip_x%%d', k)), graph 0.03 \
                center font ',16' tc rgb '#CC0000' front; \
            set label 201 + 2 * k '× ' . value(sprintf('%s_skip_t%%d', k)) \
                at graph 0.02, graph 0.03 + 0.045 * k left font ',9' tc rgb '#CC0000' front \
        }; \
        if (%s_skip_more > 0) { \
            set label 299 sprintf('and %%d more not run', %s_skip_more) \
                at graph 0.02, graph 0.03 + 0.045 * (%s_skip_n + 1) left font ',9' front \
        } \
    }", P, P, P, P, P, P, P)

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
        set ylabel 'throughput (messages/s, higher is better; median, bars: min-max of repetitions)'
        eval not_run_labels('tput_size')
        plot for [i = 1:words(tput_size_files)] word(tput_size_files, i) \
             using 1:2:3:4 with yerrorlines lt lt_of(word(tput_size_titles, i)) \
             title word(tput_size_titles, i)
        unset label
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
        # The axis ends at the highest percentile the file has: no empty column.
        if (!exists("latency_xmax") || latency_xmax < 2) { latency_xmax = 1000 }
        set xrange [1.5:latency_xmax * 1.5]
        set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000)
        set mxtics default
        set xlabel 'percentile (axis: 1/(1-p))'
        set ylabel "round-trip latency (µs, lower is better)\nbars: lowest-highest repetition (p50, p99)"
        set format y '%g'
        plot for [i = 1:words(latency_files)] word(latency_files, i) \
             using 1:($2/1000.0):($3/1000.0):($4/1000.0) with yerrorlines \
             lt lt_of(word(latency_titles, i)) dt dt_of(word(latency_titles, i)) \
             title label_of(word(latency_titles, i))
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
        set xlabel 'producers x consumers (categories)'
        set ylabel 'throughput (messages/s, higher is better; median, bars: min-max)'
        # Categories, not a line: each backend's points sit side by side within their column.
        npxc = words(tput_pxc_files)
        off(i) = npxc > 1 ? (i - (npxc + 1) / 2.0) * 0.6 / npxc : 0
        plot for [i = 1:npxc] word(tput_pxc_files, i) \
             using (pxc_index(strcol(1)) + off(i)):2:3:4 with yerrorbars \
             lt lt_of(word(tput_pxc_titles, i)) title word(tput_pxc_titles, i)
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
        set title sprintf("Pool map: tasks/s vs workers\n%s\n%s", pool_note, subtitle) noenhanced
        set logscale x 2
        set logscale y 10
        set format x '%g'
        set format y '%.0s%c'
        set xlabel 'workers (processes)'
        set ylabel 'tasks/s (higher is better; median, bars: min-max of repetitions)'
        # Room either side, so the error bars of 1 and 8 workers are not drawn on the border.
        set offsets graph 0.04, graph 0.04, 0, 0
        plot for [i = 1:words(pool_files)] word(pool_files, i) \
             using 1:2:3:4 with yerrorlines lt lt_of(word(pool_titles, i)) \
             title label_of(word(pool_titles, i))
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
        set xlabel 'CPU time per message (ns, user + system, lower is better; bars: min-max)'
        set ylabel 'throughput (messages or tasks/s, higher is better; bars: min-max)'
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

# ------------------------------------------------------- throughput in GB/s vs size
if (exists("tput_gbs_files") && words(tput_gbs_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("tput_gbs.%s", exts[t])
        set title sprintf("Throughput in bytes vs message size (%s)\n%s", tput_gbs_note, subtitle) noenhanced
        set logscale x 2
        set logscale y 10
        set format x '%.0b%B'
        set format y '%g'
        set xlabel 'message size (bytes)'
        set ylabel 'throughput (GB/s = 10^9 bytes/s, higher is better; median, bars: min-max)'
        eval not_run_labels('tput_gbs')
        plot for [i = 1:words(tput_gbs_files)] word(tput_gbs_files, i) \
             using 1:($2/1e9):($3/1e9):($4/1e9) with yerrorlines lt lt_of(word(tput_gbs_titles, i)) \
             title word(tput_gbs_titles, i)
        unset label
        unset logscale
        set format x '% h'
        set format y '% h'
    }
}

# ------------------------------------------- lock hand-off round trip per implementation
if (exists("sync_handoff_files") && words(sync_handoff_files) > 0) {
    impl_index(s) = sum [k = 1:words(sync_impls)] (word(sync_impls, k) eq s ? k : 0)
    nsh = words(sync_handoff_files)
    shoff(i) = nsh > 1 ? (i - (nsh + 1) / 2.0) * 0.5 / nsh : 0
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("sync_handoff.%s", exts[t])
        set title sprintf("Lock hand-off between two processes, per implementation\n%s", subtitle) noenhanced
        set xrange [0.5:words(sync_impls) + 0.5]
        set xtics ()
        do for [k = 1:words(sync_impls)] { set xtics add (word(sync_impls, k) k) }
        set mxtics 1
        set yrange [0:*]
        set format y '%g'
        set xlabel 'lock implementation'
        set ylabel "hand-off round trip, p50 (µs, lower is better; bars: min-max of repetitions' p50)"
        plot for [i = 1:nsh] word(sync_handoff_files, i) \
             using (impl_index(strcol(1)) + shoff(i)):($2/1000.0):($3/1000.0):($4/1000.0) \
             with yerrorbars lt i + 1 dt 1 ps 1.5 title place_name(word(sync_handoff_titles, i))
        unset xrange
        unset yrange
        set xtics autofreq
        set mxtics 10
        set format y '% h'
    }
}

# -------------------------------------------- contended lock: increments/s vs processes
if (exists("sync_contended_files") && words(sync_contended_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("sync_contended.%s", exts[t])
        set title sprintf("One lock under contention: increments/s vs processes\n%s", subtitle) noenhanced
        set logscale x 2
        set logscale y 10
        set format x '%g'
        set format y '%.0s%c'
        set offsets graph 0.04, graph 0.04, 0, 0
        set xlabel 'processes incrementing under the lock'
        set ylabel 'increments/s, all processes (higher is better; median, bars: min-max)'
        plot for [i = 1:words(sync_contended_files)] word(sync_contended_files, i) \
             using 1:2:3:4 with yerrorlines lt lt_of(word(sync_contended_titles, i)) \
             title word(sync_contended_titles, i)
        unset logscale
        unset offsets
        set format x '% h'
        set format y '% h'
    }
}

# --------------------------------------------------- barrier round time vs parties
if (exists("sync_barrier_files") && words(sync_barrier_files) > 0) {
    do for [t = 1:2] {
        eval sprintf("set terminal %s", terms[t])
        set output sprintf("sync_barrier.%s", exts[t])
        set title sprintf("Barrier: time of one round vs parties\n%s", subtitle) noenhanced
        set logscale x 2
        set format x '%g'
        set yrange [0:*]
        set format y '%g'
        set offsets graph 0.04, graph 0.04, 0, 0
        set xlabel 'parties (processes)'
        set ylabel "barrier round time, p50 (µs, lower is better; bars: min-max of repetitions' p50)"
        plot for [i = 1:words(sync_barrier_files)] word(sync_barrier_files, i) \
             using 1:($2/1000.0):($3/1000.0):($4/1000.0) with yerrorlines \
             lt lt_of(word(sync_barrier_titles, i)) title word(sync_barrier_titles, i)
        unset logscale
        unset offsets
        unset yrange
        set format x '% h'
        set format y '% h'
    }
}
set output
