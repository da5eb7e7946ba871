/* targets.h: x86-64 CPU and feature names LLVM 16 accepts (targets.c), for
 * checking --cpu/--features before LLVM silently ignores a typo, and the
 * features a named CPU implies, recorded in model.so for the runtime. */
#ifndef LTC_CPU_TARGETS_H
#define LTC_CPU_TARGETS_H

const char *const *cpu_x86_names(int *n);
const char *const *cpu_x86_features(int *n);
/* Writes "+f1,+f2,..." into out: every feature LLVM enables for the named
 * CPU, closed under implication and sorted ("" for a name LLVM's X86
 * parser does not know, e.g. "generic").  Returns the length, or -1 when
 * out is too small. */
#include <stddef.h>
int cpu_implied_features(const char *cpu, char *out, size_t n);

#endif
