/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every libFuzzer target here shares: the entry point libFuzzer
 * calls, and CHECK, which stops the run on a broken invariant so that
 * libFuzzer keeps the input, whatever the build's NDEBUG says.
 */
#ifndef AIRLOCK_TESTS_FUZZ_H
#define AIRLOCK_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "invariant failed: %s\n", #cond);  \
			abort();                                           \
		}                                                          \
	} while (0)

#endif
