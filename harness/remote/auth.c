/* SPDX-License-Identifier: MIT */
/*
 * auth.c - the shared key and its challenge-response, with libsodium: crypto_auth
 * (HMAC-SHA512-256) over a fresh nonce, checked in constant time; the key itself is
 * hashed (crypto_generichash) into the MAC key and never sent, printed or recorded.
 */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX 4096 /* bytes of secret read from a file or IPCMARK_KEY */

static void key_from(struct ipcm_remote_key *key, const uint8_t *secret, size_t len)
{
    /* A trailing newline (echo > file) is not part of the secret. */
    while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
        len--;
    crypto_generichash(key->k, sizeof(key->k), secret, len, NULL, 0);
    key->set = true;
}

static int key_file(const char *file, struct ipcm_remote_key *key, char *why, size_t wlen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        snprintf(why, wlen, "cannot open key file %s: %s", file, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, wlen, "key file %s is not a regular file", file);
        return -EINVAL;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(why, wlen, "key file %s has mode %04o; it must be 0600 or stricter (chmod 600)",
                 file, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    uint8_t buf[KEY_MAX];
    ssize_t n = read(fd, buf, sizeof(buf));
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(why, wlen, "cannot read key file %s: %s", file, strerror(e));
        return -e;
    }
    if (n == 0 || (n == 1 && buf[0] == '\n')) {
        snprintf(why, wlen, "key file %s is empty", file);
        return -EINVAL;
    }
    key_from(key, buf, (size_t)n);
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

int ipcm_remote_key_load(const char *file, struct ipcm_remote_key *key, char *why, size_t len)
{
    memset(key, 0, sizeof(*key));
    if (sodium_init() < 0) {
        snprintf(why, len, "libsodium cannot initialise");
        return -ENOSYS;
    }
    if (file)
        return key_file(file, key, why, len);
    const char *env = getenv("IPCMARK_KEY");
    if (env && *env)
        key_from(key, (const uint8_t *)env, strnlen(env, KEY_MAX));
    return 0;
}

void ipcm_remote_nonce(uint8_t *nonce)
{
    randombytes_buf(nonce, IPCM_REMOTE_NONCE);
}

static void tag_input(char dir, const uint8_t *nonce, uint8_t *msg)
{
    memcpy(msg, "ipcmark-remote-1", 16);
    msg[16] = (uint8_t)dir;
    memcpy(msg + 17, nonce, IPCM_REMOTE_NONCE);
}

void ipcm_remote_tag(const struct ipcm_remote_key *key, char dir, const uint8_t *nonce,
                     uint8_t *tag)
{
    uint8_t msg[17 + IPCM_REMOTE_NONCE];
    tag_input(dir, nonce, msg);
    crypto_auth(tag, msg, sizeof(msg), key->k);
}

bool ipcm_remote_tag_ok(const struct ipcm_remote_key *key, char dir, const uint8_t *nonce,
                        const uint8_t *tag)
{
    uint8_t msg[17 + IPCM_REMOTE_NONCE];
    tag_input(dir, nonce, msg);
    return crypto_auth_verify(tag, msg, sizeof(msg), key->k) == 0;
}
