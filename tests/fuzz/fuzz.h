/*
** The entry point every fuzz target in tests/fuzz defines (libFuzzer's
** contract): parse size bytes of data (not NUL-terminated), free everything,
** write no file, and return 0. Built twice: with -fsanitize=fuzzer under
** clang (MT_FUZZ=ON), and with replay_main.c in every build, so the corpus
** and the crashers kept in regress/ run under `make test`. See
** docs/fuzzing.md.
*/
#ifndef MT_TESTS_FUZZ_H
#define MT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
