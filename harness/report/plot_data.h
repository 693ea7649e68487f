/* SPDX-License-Identifier: MIT */
/*
 * plot_data.h - the data of the comparison plots, extracted from a results file: one
 * gnuplot data file per plot and series, and params.gp (titles, notes, file lists)
 * for scripts/plot.gp. Drawing them (running gnuplot) is the command line's job.
 */
#ifndef IPCM_REPORT_PLOT_DATA_H
#define IPCM_REPORT_PLOT_DATA_H

struct ipcm_results;

/* The plots, in the order plot.gp draws them. */
#define IPCM_PLOT_COUNT 9

/* ipcm_plot_name - the name of plot i (0 <= i < IPCM_PLOT_COUNT): "tput_size", "latency",
 * "tput_pxc", "pool", "tput_cpu" (throughput against CPU per message: one point per
 * backend and case), "tput_gbs" (tput_size's slice in GB/s), "sync_handoff" (lock
 * hand-off round trip per implementation), "sync_contended" (increments/s against
 * processes) or "sync_barrier" (barrier round time against parties); its files are
 * <name>-<series>.dat and <name>.png/.svg. */
const char *ipcm_plot_name(int i);

/*
 * ipcm_plot_data_write - write dir/params.gp and, for each plot with data in r,
 * dir/<plot>-<series>.dat. dir must exist. sources names the results files (any text)
 * for the first comment of params.gp; control characters in it are replaced by '_'.
 * ref_date is when the python-mp reference cases were measured (the created_utc of
 * their file), named in the pool plot; NULL when unknown.
 * nseries[i] receives the number of series of plot i: 0 when r has no data for it, or
 * a negative errno when one of its data files could not be written.
 * Returns 0, or the negative errno of opening or closing params.gp (on an open failure
 * nothing is written).
 */
int ipcm_plot_data_write(const struct ipcm_results *r, const char *dir, const char *sources,
                         const char *ref_date, int nseries[IPCM_PLOT_COUNT]);

#endif /* IPCM_REPORT_PLOT_DATA_H */
