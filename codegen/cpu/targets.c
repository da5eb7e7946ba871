/* targets.c: the x86-64 CPU and feature names LLVM 16 knows, and the
 * features a named CPU implies.
 *
 * The LLVM C API cannot list them (LLVMCreateTargetMachine with an unknown
 * name prints "is not a recognized processor" on stderr and carries on),
 * so the names are kept here, from `llc -mtriple=x86_64 -mcpu=help` and
 * `-mattr=help` of LLVM 16; tests/unit/cpu_targets.c compares them with
 * llc.  The implied features are the psABI levels (x86-64-v2/v3/v4): a
 * named CPU records the level it contains, so the runtime refuses a host
 * without it (runtime/cpu_features.c checks the recorded +features). */
#include "codegen/cpu/targets.h"

#include <string.h>

static const char *const cpu_names[] = {
    "alderlake", "amdfam10", "athlon", "athlon-4", "athlon-fx", "athlon-mp", "athlon-tbird",
    "athlon-xp", "athlon64", "athlon64-sse3", "atom", "barcelona", "bdver1", "bdver2", "bdver3",
    "bdver4", "bonnell", "broadwell", "btver1", "btver2", "c3", "c3-2", "cannonlake", "cascadelake",
    "cooperlake", "core-avx-i", "core-avx2", "core2", "corei7", "corei7-avx", "generic", "geode",
    "goldmont", "goldmont-plus", "haswell", "i386", "i486", "i586", "i686", "icelake-client",
    "icelake-server", "ivybridge", "k6", "k6-2", "k6-3", "k8", "k8-sse3", "knl", "knm", "lakemont",
    "nehalem", "nocona", "opteron", "opteron-sse3", "penryn", "pentium", "pentium-m", "pentium-mmx",
    "pentium2", "pentium3", "pentium3m", "pentium4", "pentium4m", "pentiumpro", "prescott",
    "rocketlake", "sandybridge", "sapphirerapids", "silvermont", "skx", "skylake", "skylake-avx512",
    "slm", "tigerlake", "tremont", "westmere", "winchip-c6", "winchip2", "x86-64", "x86-64-v2",
    "x86-64-v3", "x86-64-v4", "yonah", "znver1", "znver2", "znver3",
};

static const char *const feature_names[] = {
    "16bit-mode", "32bit-mode", "3dnow", "3dnowa", "64bit", "64bit-mode", "adx", "aes", "amx-bf16",
    "amx-int8", "amx-tile", "avx", "avx2", "avx512bf16", "avx512bitalg", "avx512bw", "avx512cd",
    "avx512dq", "avx512er", "avx512f", "avx512fp16", "avx512ifma", "avx512pf", "avx512vbmi",
    "avx512vbmi2", "avx512vl", "avx512vnni", "avx512vp2intersect", "avx512vpopcntdq", "avxvnni",
    "bmi", "bmi2", "branchfusion", "cldemote", "clflushopt", "clwb", "clzero", "cmov", "crc32",
    "cx16", "cx8", "enqcmd", "ermsb", "f16c", "false-deps-lzcnt-tzcnt", "false-deps-popcnt",
    "fast-11bytenop", "fast-15bytenop", "fast-7bytenop", "fast-bextr", "fast-gather", "fast-hops",
    "fast-lzcnt", "fast-movbe", "fast-scalar-fsqrt", "fast-scalar-shift-masks", "fast-shld-rotate",
    "fast-variable-crosslane-shuffle", "fast-variable-perlane-shuffle", "fast-vector-fsqrt",
    "fast-vector-shift-masks", "fma", "fma4", "fsgsbase", "fsrm", "fxsr", "gfni", "hreset",
    "idivl-to-divb", "idivq-to-divl", "invpcid", "kl", "lea-sp", "lea-uses-ag", "lvi-cfi",
    "lvi-load-hardening", "lwp", "lzcnt", "macrofusion", "mmx", "movbe", "movdir64b", "movdiri",
    "mwaitx", "nopl", "pad-short-functions", "pclmul", "pconfig", "pku", "popcnt", "prefer-128-bit",
    "prefer-256-bit", "prefer-mask-registers", "prefetchwt1", "prfchw", "ptwrite", "rdpid", "rdrnd",
    "rdseed", "retpoline", "retpoline-external-thunk", "retpoline-indirect-branches",
    "retpoline-indirect-calls", "rtm", "sahf", "serialize", "seses", "sgx", "sha", "shstk",
    "slow-3ops-lea", "slow-incdec", "slow-lea", "slow-pmaddwd", "slow-pmulld", "slow-shld",
    "slow-two-mem-ops", "slow-unaligned-mem-16", "slow-unaligned-mem-32", "soft-float", "sse",
    "sse-unaligned-mem", "sse2", "sse3", "sse4.1", "sse4.2", "sse4a", "ssse3", "tagged-globals",
    "tbm", "tsxldtrk", "uintr", "use-aa", "use-glm-div-sqrt-costs", "use-slm-arith-costs", "vaes",
    "vpclmulqdq", "vzeroupper", "waitpkg", "wbnoinvd", "widekl", "x87", "xop", "xsave", "xsavec",
    "xsaveopt", "xsaves",
};

const char *const *cpu_x86_names(int *n) { *n = (int)(sizeof cpu_names / sizeof *cpu_names); return cpu_names; }
const char *const *cpu_x86_features(int *n) { *n = (int)(sizeof feature_names / sizeof *feature_names); return feature_names; }

#define V2 "+cx16,+popcnt,+sahf,+sse3,+sse4.1,+sse4.2,+ssse3"
#define V3 V2 ",+avx,+avx2,+bmi,+bmi2,+f16c,+fma,+lzcnt,+movbe,+xsave"
#define V4 V3 ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"

/* CPU -> the features it implies that the kernels may use (a lower bound:
 * the psABI level it contains, plus AVX for the AVX-only generations). */
static const struct { const char *cpu, *features; } implied[] = {
    {"x86-64-v2", V2}, {"x86-64-v3", V3}, {"x86-64-v4", V4},
    {"nehalem", V2}, {"corei7", V2}, {"westmere", V2}, {"silvermont", V2}, {"slm", V2},
    {"goldmont", V2}, {"goldmont-plus", V2}, {"tremont", V2},
    {"sandybridge", V2 ",+avx,+xsave"}, {"corei7-avx", V2 ",+avx,+xsave"},
    {"ivybridge", V2 ",+avx,+xsave,+f16c"}, {"core-avx-i", V2 ",+avx,+xsave,+f16c"},
    {"bdver1", V2 ",+avx,+xsave"}, {"bdver2", V2 ",+avx,+xsave,+f16c,+fma"},
    {"bdver3", V2 ",+avx,+xsave,+f16c,+fma"}, {"btver2", V2 ",+avx,+xsave,+f16c,+movbe,+bmi"},
    {"haswell", V3}, {"core-avx2", V3}, {"broadwell", V3}, {"skylake", V3}, {"alderlake", V3},
    {"bdver4", V3}, {"znver1", V3}, {"znver2", V3}, {"znver3", V3},
    {"knl", V3 ",+avx512f,+avx512cd"}, {"knm", V3 ",+avx512f,+avx512cd"},
    {"skylake-avx512", V4}, {"skx", V4}, {"cascadelake", V4}, {"cooperlake", V4},
    {"cannonlake", V4}, {"icelake-client", V4}, {"icelake-server", V4}, {"tigerlake", V4},
    {"rocketlake", V4}, {"sapphirerapids", V4},
};

const char *cpu_implied_features(const char *cpu) {
    for (size_t i = 0; cpu && i < sizeof implied / sizeof *implied; i++)
        if (strcmp(implied[i].cpu, cpu) == 0) return implied[i].features;
    return "";
}
