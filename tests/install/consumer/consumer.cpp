// SPDX-License-Identifier: MIT
// consumer.cpp - the same from C++: ipcmark.h is usable as is (extern "C"); a pool of
// two workers squares 10 numbers and the results come back in input order.
#include <ipcmark.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

static int square(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    int v;
    if (in_len != sizeof(v) || out_cap < sizeof(v))
        return -EINVAL;
    std::memcpy(&v, in, sizeof(v));
    v *= v;
    std::memcpy(out, &v, sizeof(v));
    *out_len = sizeof(v);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "pipe";
    std::vector<int> in(10);
    std::vector<ipcm_pool_buf> tasks(in.size());
    std::vector<ipcm_pool_result> out(in.size());
    for (size_t i = 0; i < in.size(); i++) {
        in[i] = static_cast<int>(i);
        tasks[i] = {&in[i], sizeof(int)};
    }
    ipcm_pool *pool = nullptr;
    int r = ipcm_pool_create(&pool, 2, ipcm_backend_find(name), nullptr);
    if (r >= 0)
        r = ipcm_pool_map(pool, square, tasks.data(), tasks.size(), 3, out.data(), 10000);
    std::vector<int> got;
    for (size_t i = 0; r >= 0 && i < out.size(); i++) {
        int v = -1;
        if (out[i].len == sizeof(v))
            std::memcpy(&v, out[i].data, sizeof(v));
        got.push_back(v);
    }
    ipcm_pool_results_free(out.data(), out.size());
    if (r >= 0 && (r = ipcm_pool_close(pool)) >= 0)
        r = ipcm_pool_join(pool, 10000);
    ipcm_pool_destroy(pool);
    if (r < 0) {
        std::fprintf(stderr, "consumer++: %s: %s\n", name, ipcm_strerror(r));
        return 1;
    }
    std::printf("C++ %s ipcmark %s:", name, IPCM_VERSION);
    for (int v : got)
        std::printf(" %d", v);
    std::printf("\n");
    return 0;
}
