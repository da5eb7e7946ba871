// cpu_features_llvm.cpp: the features LLVM enables for a named x86 CPU.
//
// The one C++ file of the compiler, and why: a model built with
// `--cpu icelake-server` may contain any instruction that CPU has
// (AVX-512 VNNI, VBMI2, GFNI...), and model.so must record all of them so
// the runtime refuses a host that lacks one instead of dying of SIGILL.
// LLVM's C API cannot say which features a CPU name implies; its X86
// target parser (the table clang uses for -march) can.  A hand-kept copy
// of that table would drift from LLVM's; this asks LLVM itself.
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/TargetParser/X86TargetParser.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

extern "C" int cpu_llvm_features(const char *cpu, char *out, size_t n);

// "+f1,+f2,...": the CPU's features closed under implication (avx2 brings
// avx, sse4.2...), sorted, so the record is stable and readable.  Returns
// the length, 0 for a name the parser does not know (not x86-64, or a
// generic name without features), -1 when out is too small.
int cpu_llvm_features(const char *cpu, char *out, size_t n) {
    if (!cpu || !out || n == 0) return -1;
    out[0] = 0;
    llvm::SmallVector<llvm::StringRef, 64> direct;
    llvm::X86::getFeaturesForCPU(cpu, direct);
    llvm::StringMap<bool> all;
    for (llvm::StringRef f : direct) {
        all[f] = true;                                   // the update adds only what f implies
        llvm::X86::updateImpliedFeatures(f, true, all);
    }
    std::vector<std::string> on;
    for (const auto &kv : all)
        if (kv.getValue()) on.push_back(kv.getKey().str());
    std::sort(on.begin(), on.end());
    std::string s;
    for (const std::string &f : on) {
        if (!s.empty()) s += ',';
        s += '+';
        s += f;
    }
    if (s.size() + 1 > n) return -1;
    std::memcpy(out, s.c_str(), s.size() + 1);
    return (int)s.size();
}
