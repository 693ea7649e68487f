/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - every registered backend honours the vtable's structural rules.
 */
#include "ipcmark_backend.h"
#include "testutil.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

START_TEST(every_backend_has_current_abi_and_all_required_ops)
{
    ck_assert_uint_gt(ipcm_backend_count(), 2);
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        ck_assert_int_eq(be->abi, IPCM_BACKEND_ABI);
        ck_assert(be->limits != NULL);
        ck_assert(be->create != NULL);
        ck_assert(be->open != NULL);
        ck_assert(be->send != NULL);
        ck_assert(be->recv != NULL);
        ck_assert(be->shutdown != NULL);
        ck_assert(be->close != NULL);
        ck_assert(be->destroy != NULL);
        /* An optional op is present exactly when its capability bit is set. */
        ck_assert_int_eq(be->pollfd != NULL, (be->caps & IPCM_CAP_POLLFD) != 0);
        ck_assert_int_eq(be->qsize != NULL, (be->caps & IPCM_CAP_QSIZE) != 0);
        ck_assert_int_eq(be->send_fd != NULL, (be->caps & IPCM_CAP_FDPASS) != 0);
        ck_assert_int_eq(be->recv_fd != NULL, (be->caps & IPCM_CAP_FDPASS) != 0);
        ck_assert_int_eq(be->handover_export != NULL, (be->caps & IPCM_CAP_EXEC) != 0);
        ck_assert_int_eq(be->handover_attach != NULL, (be->caps & IPCM_CAP_EXEC) != 0);
    }
}
END_TEST

START_TEST(names_are_unique_lowercase_and_findable)
{
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        ck_assert_uint_gt(strlen(be->name), 0);
        for (const char *p = be->name; *p; p++)
            ck_assert_msg(islower((unsigned char)*p), "name %s is not [a-z]+", be->name);
        ck_assert_ptr_eq(ipcm_backend_find(be->name), be);
        for (size_t j = i + 1; j < ipcm_backend_count(); j++)
            ck_assert_str_ne(be->name, ipcm_backend_at(j)->name);
    }
    ck_assert_ptr_null(ipcm_backend_find("nosuch"));
    ck_assert_ptr_null(ipcm_backend_at(ipcm_backend_count()));
}
END_TEST

START_TEST(limits_are_read_from_this_host)
{
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        struct ipcm_limits lim;
        int r = ipcm_backend_limits(be, &lim);
        if (r == -ENOSYS)
            continue;
        ck_assert_int_eq(r, 0);
        ck_assert_uint_gt(lim.max_msg, 0);
        ck_assert_uint_le(lim.default_msg, lim.max_msg);
        ck_assert_uint_gt(lim.default_depth, 0);
        ck_assert_msg(lim.max_msg_source[0], "%s names no source for its limit", be->name);
    }
}
END_TEST

START_TEST(create_refuses_message_size_above_limit)
{
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        struct ipcm_limits lim;
        struct ipcm_link *l = (struct ipcm_link *)1;
        if (ipcm_backend_limits(be, &lim) < 0)
            continue;
        struct ipcm_config cfg = {.max_msg = lim.max_msg + 1};
        ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_QUEUE, &cfg, &l), -EMSGSIZE);
        ck_assert_ptr_null(l);
    }
}
END_TEST

START_TEST(error_names_and_texts_exist)
{
    ck_assert_str_eq(ipcm_err_name(-EMSGSIZE), "EMSGSIZE");
    ck_assert_str_eq(ipcm_err_name(-EPIPE), "EPIPE");
    ck_assert_str_ne(ipcm_strerror(-ETIMEDOUT), "");
    ck_assert_str_ne(ipcm_strerror(-ENOTRECOVERABLE), "");
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, every_backend_has_current_abi_and_all_required_ops);
    tcase_add_test(tc, names_are_unique_lowercase_and_findable);
    tcase_add_test(tc, limits_are_read_from_this_host);
    tcase_add_test(tc, create_refuses_message_size_above_limit);
    tcase_add_test(tc, error_names_and_texts_exist);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(registry_suite());
}
