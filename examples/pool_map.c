/* SPDX-License-Identifier: MIT */
/* pool_map.c - Python's `with Pool(3) as p: print(p.map(hello, names))`: three worker
 * processes say hello to each name; the results come back in input order. */
#include <ipcmark.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A task: bytes in, bytes out (Python pickles; C says what the bytes are). */
static int hello(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    int n = snprintf(out, out_cap, "Hello %.*s", (int)in_len, (const char *)in);
    if (n < 0 || (size_t)n >= out_cap)
        return -EMSGSIZE;
    *out_len = (size_t)n;
    return 0;
}

int main(int argc, char **argv)
{
    const char *backend = "pipe", *defaults[] = {"Bob", "Alice", "Eve"};
    int opt;
    opterr = 0; /* one line for a bad option: ours */
    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt != 'b') {
            fprintf(stderr, "usage: pool_map [-b BACKEND] [NAME]...\n");
            return 2;
        }
        backend = optarg;
    }
    const struct ipcm_backend *be = ipcm_backend_find(backend);
    if (!be) {
        fprintf(stderr, "pool_map: unknown backend '%s' (ipcmark list shows them)\n", backend);
        return 2;
    }
    size_t n = optind < argc ? (size_t)(argc - optind) : 3;
    const char *const *names = optind < argc ? (const char *const *)argv + optind : defaults;
    struct ipcm_pool_buf in[n];
    struct ipcm_pool_result out[n];
    for (size_t i = 0; i < n; i++)
        in[i] = (struct ipcm_pool_buf){names[i], strlen(names[i])};
    struct ipcm_pool *pool;
    int r = ipcm_pool_create(&pool, 3, be, NULL);
    if (r < 0) {
        fprintf(stderr, "pool_map: %s: pool of 3: %s\n", backend, ipcm_error_text(r));
        return 1;
    }
    /* chunk 0: CPython's default chunk size; 10 s bounds the whole map */
    r = ipcm_pool_map(pool, hello, in, n, 0, out, 10000);
    if (r == 0) {
        printf("[");
        for (size_t i = 0; i < n; i++)
            printf("%s'%.*s'", i ? ", " : "", (int)out[i].len, (const char *)out[i].data);
        printf("]\n");
        ipcm_pool_results_free(out, n);
    }
    int cr = ipcm_pool_close(pool); /* the `with` block's exit: no more work, then join */
    if (cr == 0)
        cr = ipcm_pool_join(pool, 10000);
    ipcm_pool_destroy(pool);
    if (r < 0 || cr < 0) {
        fprintf(stderr, "pool_map: %s: %s: %s\n", backend, r < 0 ? "map" : "close/join",
                ipcm_strerror(r < 0 ? r : cr));
        return 1;
    }
    return 0;
}
