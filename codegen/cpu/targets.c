/* targets.c: the x86-64 CPU and feature names LLVM 16 knows, and the
 * features a named CPU implies.
 *
 * The LLVM C API cannot list them (LLVMCreateTargetMachine with an unknown
 * name prints "is not a recognized processor" on stderr and carries on),
 * so the names are kept here, from `llc -mtriple=x86_64 -mcpu=help` and
 * `-mattr=help` of LLVM 16; tests/unit/cpu_targets.c compares them with
 * llc.  The features a named CPU implies come from LLVM itself, all of
 * them (not just its psABI level): model.so records them, so the runtime
 * refuses a host that lacks any (runtime/cpu_features.c checks every
 * recorded +feature it can detect). */
#include "codegen/cpu/targets.h"

#include <stdbool.h>
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

/* The features a named CPU brings, from LLVM's own X86 target parser
 * (cpu_features_llvm.cpp: the C API cannot list them). */
int cpu_llvm_features(const char *cpu, char *out, size_t n);

static bool known_feature(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof feature_names / sizeof *feature_names; i++)
        if (strlen(feature_names[i]) == len && memcmp(feature_names[i], name, len) == 0) return true;
    return false;
}

/* The target parser knows a few names the LLVM 16 code generator does not
 * (rdpru): passing them would make LLVM print "not a recognized feature"
 * and the record would name features no code can use, so only the code
 * generator's features are kept. */
int cpu_implied_features(const char *cpu, char *out, size_t n) {
    if (!out || n == 0) return -1;
    out[0] = 0;
    if (!cpu || !*cpu) return 0;
    int len = cpu_llvm_features(cpu, out, n);
    if (len <= 0) return len;
    size_t k = 0;
    for (size_t i = 0; out[i];) {                   /* filter in place: k <= i */
        size_t e = i;
        while (out[e] && out[e] != ',') e++;
        if (e - i > 1 && known_feature(out + i + 1, e - i - 1)) {
            if (k) out[k++] = ',';
            memmove(out + k, out + i, e - i);
            k += e - i;
        }
        i = out[e] ? e + 1 : e;
    }
    out[k] = 0;
    return (int)k;
}
