/*
 * test_util.h - common includes for the cmocka tests.
 */
#ifndef WH_TEST_UTIL_H
#define WH_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif
