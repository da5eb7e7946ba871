/* targets.h: x86-64 CPU and feature names LLVM 16 accepts (targets.c), for
 * checking --cpu/--features before LLVM silently ignores a typo, and the
 * features a named CPU implies, recorded in model.so for the runtime. */
#ifndef LTC_CPU_TARGETS_H
#define LTC_CPU_TARGETS_H

const char *const *cpu_x86_names(int *n);
const char *const *cpu_x86_features(int *n);
/* "+f1,+f2,..." ("" for a CPU without a level, or not x86-64). */
const char *cpu_implied_features(const char *cpu);

#endif
