# SPDX-License-Identifier: MIT
# ab.gp - the per-round cost ratios of `ipcmark ab` (current / baseline, time per message),
# one line per case, with the threshold band, so drift and outliers show. Run by
# `ipcmark ab --plot DIR` as `gnuplot DIR/ab-params.gp ab.gp`; ab-params.gp sets
# datafile, outbase, threshold and ncases. Data: one block per case, header "round KEY".

set linetype 1 lc rgb '#000000' lw 1.5 dt 1 pt 7 ps 0.8
set linetype 2 lc rgb '#E69F00' lw 1.5 dt 2 pt 5 ps 0.8
set linetype 3 lc rgb '#0072B2' lw 1.5 dt 4 pt 9 ps 0.9
set linetype 4 lc rgb '#009E73' lw 1.5 dt 5 pt 13 ps 0.9
set linetype 5 lc rgb '#CC79A7' lw 1.5 dt 3 pt 11 ps 0.9
set linetype 6 lc rgb '#56B4E9' lw 1.5 dt (8,4,2,4) pt 6 ps 0.8
set linetype 7 lc rgb '#D55E00' lw 1.5 dt (2,2) pt 4 ps 0.8
set linetype cycle 7
set grid lc rgb '#dddddd'
set key outside below noenhanced
set xlabel 'round (A B and B A alternate; warm-up dropped)'
set ylabel 'cost ratio current / baseline (time per message)'
set title sprintf('ipcmark ab: per-round ratios; dashed: 1 +- %g threshold', threshold) noenhanced
set logscale y
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#444444' lw 1
set arrow 2 from graph 0, first (1 + threshold) to graph 1, first (1 + threshold) nohead dt 2 lc rgb '#C00000'
set arrow 3 from graph 0, first (1 / (1 + threshold)) to graph 1, first (1 / (1 + threshold)) nohead dt 2 lc rgb '#008000'

set terminal pngcairo size 1100,700
set output outbase.'.png'
plot for [i=0:ncases-1] datafile index i using 1:2 with linespoints title columnheader(2)
set terminal svg size 1100,700 dynamic
set output outbase.'.svg'
replot
unset output
