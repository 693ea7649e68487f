/* SPDX-License-Identifier: MIT */
/*
 * cmd_serve.c - `ipcmark serve`: parse the options and run the far end of remote runs
 * (harness/remote, docs/remote.md).
 */
#include "calibrate.h"
#include "cli.h"
#include "remote.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f, "usage: ipcmark serve --listen ADDR:PORT [--once] [--key-file F] [--idle-timeout MS]\n\n"
           "Serve the far side of `ipcmark bench --remote HOST:PORT`: one client at a time\n"
           "(others are told \"busy\"), one line per client on stdout. Each authenticated\n"
           "client is sent this host's calibration, measured for it (about 0.5 s).\n\n"
           "  --listen ADDR:PORT   numeric address to listen on (127.0.0.1:PORT, [::1]:PORT,\n"
           "                       0.0.0.0:PORT for every interface); port 0 picks one\n"
           "  --once               exit after the first client has been served\n"
           "  --key-file F         shared key (a file of mode 0600); else IPCMARK_KEY; without\n"
           "                       a key only loopback clients are served\n"
           "  --idle-timeout MS    a client silent this long is dropped (default 10000)\n"
           "  -h, --help           this text\n\n"
           "Exit codes: 0 ok; 1 the --once client ended in error; 2 bad option; 3 cannot\n"
           "listen or read the key.\n");
}

int ipcm_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},   {"once", no_argument, NULL, 'o'},
        {"key-file", required_argument, NULL, 'k'}, {"idle-timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    struct ipcm_serve_opts o = {.idle_ms = 10000, .calibrate = ipcm_calibrate};
    const char *key_file = NULL;
    int c;
    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'l': o.listen = optarg; break;
        case 'o': o.once = true; break;
        case 'k': key_file = optarg; break;
        case 't':
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 3600000)
                return ipcm_usage_error("serve", "--idle-timeout '%s' is not 1..3600000 ms",
                                        optarg);
            o.idle_ms = (int)v;
            break;
        case 'h': usage(stdout); return IPCM_EXIT_OK;
        default: return ipcm_option_error("serve", c, argc, argv);
        }
    }
    if (optind < argc)
        return ipcm_usage_error("serve", "unexpected argument '%s' (try --help)", argv[optind]);
    if (!o.listen)
        return ipcm_usage_error("serve", "--listen ADDR:PORT is required (e.g. 127.0.0.1:7207)");
    char why[300];
    if (ipcm_remote_key_load(key_file, &o.key, why, sizeof(why)) < 0) {
        fprintf(stderr, "ipcmark serve: %s\n", why);
        return key_file ? IPCM_EXIT_USAGE : IPCM_EXIT_ENV;
    }
    return ipcm_serve(&o);
}
