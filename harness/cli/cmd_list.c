/* SPDX-License-Identifier: MIT */
/*
 * cmd_list.c - `ipcmark list`: backends, capabilities and this host's limits.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct {
    uint32_t bit;
    const char *name;
} cap_names[] = {
    {IPCM_CAP_DUPLEX, "duplex"},         {IPCM_CAP_NATIVE_MSG, "native-msg"},
    {IPCM_CAP_POLLFD, "pollfd"},         {IPCM_CAP_NAMED, "named"},
    {IPCM_CAP_SPINS, "spins"},           {IPCM_CAP_STREAM, "stream"},
    {IPCM_CAP_QSIZE, "qsize"},           {IPCM_CAP_FDPASS, "fd-passing"},
    {IPCM_CAP_CROSS_HOST, "cross-host"}, {IPCM_CAP_EXEC, "exec"},
    {IPCM_CAP_PRIORITY, "priority"}, {IPCM_CAP_READY, "ready"},
    {IPCM_CAP_LIB_BUFFERED, "lib-buffered"},
};

/* Comma list of capability names into buf. */
static const char *caps_describe(uint32_t caps, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
        if ((caps & cap_names[i].bit) && off < len)
            off +=
                (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "", cap_names[i].name);
    return buf;
}

/* One backend's row: its capabilities and this host's limits. */
static void list_row(const struct ipcm_backend *be)
{
    struct ipcm_limits lim;
    char caps[128], size[32], depth[16];
    caps_describe(ipcm_backend_caps(be), caps, sizeof(caps));
    int r = ipcm_backend_limits(be, &lim);
    if (r < 0) {
        printf("%-11s %-11s %-40s %9s %6s  unavailable: %s\n", ipcm_backend_name(be), "queue,pipe",
               caps, "-", "-", ipcm_strerror(r));
        return;
    }
    if (lim.max_depth)
        snprintf(depth, sizeof(depth), "%u", lim.max_depth);
    else
        snprintf(depth, sizeof(depth), "bytes");
    snprintf(size, sizeof(size), "%zu", lim.max_msg);
    printf("%-11s %-11s %-40s %9s %6s  %s\n", ipcm_backend_name(be), "queue,pipe", caps, size,
           depth, lim.max_msg_source);
}

/* A plugin's row, then the file it came from and its hash; or the line saying why it
 * would not load (and exit 3, RULINGS 2). */
static void list_plugin(const char *path, const struct ipcm_backend *be, int err, void *arg)
{
    (void)arg;
    if (err < 0) {
        const char *why = ipcm_last_error(err);
        fprintf(stderr, "ipcmark list: %s\n", why ? why : path);
        ipcm_plugin_failed = true;
        return;
    }
    list_row(be);
    printf("%-11s plugin %s (xxh3 %016llx)\n", "", ipcm_backend_plugin_path(be),
           (unsigned long long)ipcm_backend_plugin_hash(be));
}

/* The synchronization implementations (issue 17): what each provides and guarantees. The
 * first is the default run's; the others run when named (RULINGS 3). */
static void list_sync(void)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } sync_caps[] = {
        {IPCM_SYNC_CAP_LOCK, "lock"},
        {IPCM_SYNC_CAP_EVENT, "event"},
        {IPCM_SYNC_CAP_BARRIER, "barrier"},
        {IPCM_SYNC_CAP_SEMAPHORE, "semaphore"},
        {IPCM_SYNC_CAP_OWNER_DEAD, "owner-dead"},
        {IPCM_SYNC_CAP_PARTY_DEAD, "party-dead"},
        {IPCM_SYNC_CAP_BOUNDED, "bounded"},
    };
    printf("\n%-11s %-58s %s\n", "sync impl", "provides and guarantees", "summary");
    for (size_t i = 0; i < ipcm_sync_impl_count(); i++) {
        const struct ipcm_sync_impl *im = ipcm_sync_impl_at(i);
        uint32_t caps = ipcm_sync_impl_caps(im);
        char buf[128];
        size_t off = 0;
        buf[0] = '\0';
        for (size_t k = 0; k < sizeof(sync_caps) / sizeof(sync_caps[0]); k++)
            if ((caps & sync_caps[k].bit) && off < sizeof(buf))
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "",
                                        sync_caps[k].name);
        printf("%-11s %-58s %s%s\n", ipcm_sync_impl_name(im), buf, ipcm_sync_impl_summary(im),
               i == 0 ? " (default)" : "");
    }
}

int ipcm_cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: ipcmark list\n\nBackends, their shapes and capabilities, and the "
                   "limits this host sets on them;\nthen the plugins found on "
                   "IPCMARK_PLUGIN_PATH, the installed plugin folder and\nplugins/ beside "
                   "the binary, each with its file. Exit 3 if one of them will not load.\n"
                   "Last, the synchronization implementations (bench --mode sync, check's\n"
                   "group S), what each provides and guarantees.\n");
            return IPCM_EXIT_OK;
        }
        return ipcm_option_error("list", c, argc, argv);
    }
    if (optind < argc)
        return ipcm_usage_error("list", "unexpected argument '%s'", argv[optind]);

    printf("%-11s %-11s %-40s %9s %6s  %s\n", "backend", "shapes", "capabilities", "max msg",
           "depth", "limit from");
    for (size_t i = 0; i < ipcm_backend_count(); i++)
        list_row(ipcm_backend_at(i));
    /* Plugins on the plugin path (RULINGS 4), each with the file it came from. */
    ipcm_backend_plugin_scan(list_plugin, NULL);
    list_sync();
    return IPCM_EXIT_OK;
}
