/* backend.c: the CPU backend object: target selection, module generation
 * (one LLVM function per PlanKernel), default<On>, text output and the
 * LLJIT.  Kernel bodies come from the family generators (k_*.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/cpu/cpu.h"
#include "codegen/cpu/targets.h"

static CpuBackend *self(Backend *b) { return (CpuBackend *)b->self; }

/* Report an LLVMErrorRef (consumed) through d. */
static int llvm_err(LtcDiag *d, const char *what, LLVMErrorRef e) {
    char *m = LLVMGetErrorMessage(e);
    diag_set(d, (SrcLoc){0}, "cpu backend: %s: %s", what, m ? m : "unknown LLVM error");
    LLVMDisposeErrorMessage(m);
    return -1;
}

/* ---- target ------------------------------------------------------------------ */
static bool has_feature(const char *features, const char *f) {
    size_t n = strlen(f);
    for (const char *p = features; p && (p = strstr(p, f)); p += n) {
        bool start = p == features || p[-1] == ',';
        bool end = p[n] == ',' || p[n] == '\0';
        if (start && end) return true;
    }
    return false;
}

static bool cpu_has_avx512(const char *cpu) {
    static const char *const names[] = {
        "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
        "icelake-server", "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
        "graniterapids", "x86-64-v4", "znver4", "knl", "knm",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(cpu, names[i]) == 0) return true;
    return false;
}

static int make_tm(CpuBackend *be, LLVMRelocMode reloc, LLVMCodeModel cm, LLVMTargetMachineRef *out, LtcDiag *d) {
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(be->t.triple, &target, &err)) {
        diag_set(d, (SrcLoc){0}, "cpu backend: no LLVM target for '%s': %s", be->t.triple,
                 err ? err : "?");
        LLVMDisposeMessage(err);
        return -1;
    }
    LLVMCodeGenOptLevel lvl = be->opts.opt_level <= 0 ? LLVMCodeGenLevelNone
                            : be->opts.opt_level == 1 ? LLVMCodeGenLevelLess
                            : be->opts.opt_level == 2 ? LLVMCodeGenLevelDefault
                                                      : LLVMCodeGenLevelAggressive;
    *out = LLVMCreateTargetMachine(target, be->t.triple, be->t.cpu, be->t.features, lvl,
                                   reloc, cm);
    if (!*out) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot create a target machine for cpu '%s'", be->t.cpu);
    return 0;
}

/* LLVM's target registry is process-wide and its initialisers are not
 * safe to run from two threads at once (two modules compiled together by
 * an embedding host, api/): they run once, and every backend reads the
 * outcome. */
static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static bool llvm_native_ok;

static void llvm_init_native(void) {
    llvm_native_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter() &&
                     !LLVMInitializeNativeAsmParser();
}

static int target_init(CpuBackend *be, LtcDiag *d) {
    if (pthread_once(&llvm_once, llvm_init_native) != 0 || !llvm_native_ok)
        return diag_set(d, (SrcLoc){0}, "cpu backend: LLVM has no native target");
    CpuTarget *t = &be->t;
    t->triple = LLVMGetDefaultTargetTriple();
    const char *cpu = be->opts.cpu;
    if (!cpu || !*cpu || strcmp(cpu, "native") == 0) {
        /* The host name can be wrong under virtualisation ("rocketlake" on a
         * Sapphire Rapids guest); the feature list is right, so always pass it. */
        t->cpu = LLVMGetHostCPUName();
        t->features = be->opts.features ? LLVMCreateMessage(be->opts.features)
                                        : LLVMGetHostCPUFeatures();
    } else {
        /* A named CPU's features are implied by its name, which the
         * runtime cannot interpret: spell out every feature LLVM enables
         * for it, so model.so records them and a host that lacks one is
         * refused, not killed by SIGILL.  --features come after, so
         * -avx512f still wins. */
        t->cpu = LLVMCreateMessage(cpu);
        char implied[4096];
        if (cpu_implied_features(cpu, implied, sizeof implied) < 0)
            return diag_set(d, (SrcLoc){0}, "cpu backend: the feature list of cpu '%s' is too long", cpu);
        const char *user = be->opts.features ? be->opts.features : "";
        size_t ni = strlen(implied), nu = strlen(user);
        char *f = malloc(ni + nu + 2);
        if (f) {
            size_t k = 0;
            /* an implied +X that --features turns off (-X) is not recorded:
             * the runtime checks every +X of the list */
            for (const char *p = implied; *p;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                char neg[64];
                bool off = false;
                if (n >= 2 && n < sizeof neg) {      /* "+avx2" -> is "-avx2" in user? */
                    neg[0] = '-';
                    memcpy(neg + 1, p + 1, n - 1);
                    neg[n] = 0;
                    off = has_feature(user, neg);
                }
                if (!off) {
                    if (k) f[k++] = ',';
                    memcpy(f + k, p, n);
                    k += n;
                }
                p += n;
                if (*p == ',') p++;
            }
            if (k && nu) f[k++] = ',';
            memcpy(f + k, user, nu + 1);
            t->features = LLVMCreateMessage(f);
            free(f);
        }
    }
    if (!t->triple || !t->cpu || !t->features)
        return diag_set(d, (SrcLoc){0}, "cpu backend: cannot describe the target");
    t->avx512 = has_feature(t->features, "+avx512f") ||
                (!has_feature(t->features, "-avx512f") && cpu_has_avx512(t->cpu));
    t->vw = t->avx512 ? 16 : 8;
    t->bf16dot = t->avx512 && has_feature(t->features, "+avx512bf16") && !has_feature(t->features, "-avx512bf16");
    /* Micro-tile: mr x nr/vw accumulators + nr/vw vectors of B + a broadcast
     * of A must fit the register file: 8x3 = 24 (+3+1) of 32 zmm, 6x2 = 12
     * of 16 ymm.  On the dev box 8x48 ran at 103 GFLOP/s (1 thread, 512 x
     * 1024 x 1024) against 80 for 14x32, whose 14 A row pointers spill
     * general registers, and 97 for OpenBLAS. */
    t->mr = t->avx512 ? 8 : 6;
    t->nr = t->avx512 ? 3 * t->vw : 2 * t->vw;
    /* model.so: position-independent, small code model (the static linker
     * lays out .text and .rodata of one library next to each other) */
    return make_tm(be, LLVMRelocPIC, LLVMCodeModelDefault, &be->tm, d);
}

/* ---- module -------------------------------------------------------------------- */
/* ---- generators, one per kernel family (plan/kernel_families.def) ------------------ */
static int gen_dispatched(Cg *c, CpuGenFn *gen, const KernelSpec *ks, LtcDiag *d);
typedef struct CpuFamily { const char *name; CpuGenFn *gen; } CpuFamily;
static const CpuFamily families[] = {
    {"gemm", cpu_gen_gemm},
    {"gemm_pack", cpu_gen_gemm_pack},
    {"flash_attention", cpu_gen_attn},
    {"norm", cpu_gen_norm},
    {"softmax", cpu_gen_softmax},
    {"eltwise", cpu_gen_eltwise},
    {"reduce", cpu_gen_reduce},
    {"copy", cpu_gen_copy},
    {"cat", cpu_gen_cat},
    {"misc", cpu_gen_misc},
    {"dropout", cpu_gen_dropout},
};

static const CpuFamily *family_of(const char *name) {
    for (size_t i = 0; name && i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].name, name) == 0) return &families[i];
    return NULL;
}


/* The JIT outlives the modules: every generate() adds its module to the
 * one LLJIT of the backend (a session of `run` compiles many regions into
 * one LLVM context and one JIT library). */
static void drop_jit(CpuBackend *be) {
    if (be->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(be->jit);
        if (e) LLVMConsumeError(e);
        be->jit = NULL;
    }
    be->jit_has_code = false;
    free(be->jit_names);
    be->jit_names = NULL;
    be->jit_names_cap = be->jit_names_n = 0;
}

static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h ? h : 1;                               /* 0 marks an empty slot */
}

static bool jit_has_name(const CpuBackend *be, uint64_t h) {
    if (!be->jit_names_cap) return false;
    for (size_t i = h & (be->jit_names_cap - 1);; i = (i + 1) & (be->jit_names_cap - 1)) {
        if (be->jit_names[i] == h) return true;
        if (!be->jit_names[i]) return false;
    }
}

/* false when out of memory (then the caller drops the JIT: safe) */
static bool jit_note_name(CpuBackend *be, uint64_t h) {
    if (jit_has_name(be, h)) return true;
    if (2 * (be->jit_names_n + 1) > be->jit_names_cap) {
        size_t cap = be->jit_names_cap ? 2 * be->jit_names_cap : 256;
        uint64_t *t = calloc(cap, sizeof *t), *old = be->jit_names;
        if (!t) return false;
        size_t oldcap = be->jit_names_cap;
        be->jit_names = t;
        be->jit_names_cap = cap;
        be->jit_names_n = 0;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i]) jit_note_name(be, old[i]);
        free(old);
    }
    size_t i = h & (be->jit_names_cap - 1);
    while (be->jit_names[i]) i = (i + 1) & (be->jit_names_cap - 1);
    be->jit_names[i] = h;
    be->jit_names_n++;
    return true;
}

/* Before generating plans: if the JIT already holds a kernel of one of
 * their names (a caller that generates the same plan twice), start a new
 * JIT (the old one's code is gone, as each generate() used to do);
 * otherwise the new kernels join the loaded ones.  A name collision of
 * the hashes only costs a new JIT. */
static void jit_prepare(CpuBackend *be, Plan **plans, int nplans) {
    bool clash = be->jit_names_lost;
    be->jit_names_lost = false;
    for (int pi = 0; pi < nplans && !clash; pi++)
        for (int ki = 0; ki < plans[pi]->nkernels && !clash; ki++)
            clash = jit_has_name(be, name_hash(plans[pi]->kernels[ki].name));
    if (clash) drop_jit(be);
    for (int pi = 0; pi < nplans; pi++)
        for (int ki = 0; ki < plans[pi]->nkernels; ki++)
            if (!jit_note_name(be, name_hash(plans[pi]->kernels[ki].name))) { be->jit_names_lost = true; return; }
}

static void drop_module(CpuBackend *be) {
    if (be->mod) LLVMDisposeModule(be->mod);
    be->mod = NULL;
    be->mod_in_jit = false;
    if (be->ir_text) LLVMDisposeMessage(be->ir_text);
    be->ir_text = NULL;
}

/* A model of N identical layers generates N copies of each layer's
 * kernels (same shapes, same code).  mergefunc keeps one body and turns the
 * copies into tail-call thunks under their own names (the plan and a
 * model.so's descriptor look kernels up by name), so default<On> and code
 * generation cost one layer, not N.  The kept bodies are then marked
 * noinline: otherwise the inliner copies them back into every thunk and
 * the saving is lost.  Only functions a thunk calls have uses among the
 * external ones (kernels are called by the executor, not by each other). */
static LLVMErrorRef merge_identical_kernels(CpuBackend *be, LLVMPassBuilderOptionsRef po) {
    LLVMErrorRef e = LLVMRunPasses(be->mod, "mergefunc", be->tm, po);
    if (e) return e;
    unsigned kind = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAttributeRef noinline = LLVMCreateEnumAttribute(be->ctx, kind, 0);
    for (LLVMValueRef fn = LLVMGetFirstFunction(be->mod); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn) && LLVMGetFirstUse(fn) && LLVMGetLinkage(fn) == LLVMExternalLinkage)
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, noinline);
    return NULL;
}

int cpu_build_module(Backend *b, Plan **plans, int nplans, LtcDiag *d) {
    CpuBackend *be = self(b);
    double t0 = now_ms();
    drop_module(be);
    jit_prepare(be, plans, nplans);
    be->mod = LLVMModuleCreateWithNameInContext("lispetorchc", be->ctx);
    if (!be->mod) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot create an LLVM module");
    LLVMSetTarget(be->mod, be->t.triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(be->tm);
    LLVMSetModuleDataLayout(be->mod, dl);
    LLVMDisposeTargetData(dl);

    Cg c;
    cg_init(&c, be);
    int rc = 0;
    for (int pi = 0; pi < nplans && rc == 0; pi++) {
        Plan *p = plans[pi];
        for (int ki = 0; ki < p->nkernels && rc == 0; ki++) {
            const PlanKernel *k = &p->kernels[ki];
            if (LLVMGetNamedFunction(be->mod, k->name)) continue;  /* shared kernel */
            const CpuFamily *f = family_of(k->family);
            if (!f || !f->gen)
                rc = diag_set(d, (SrcLoc){0}, "cpu backend: unknown kernel family '%s' (%s)",
                              k->family ? k->family : "?", k->name);
            else {
                KernelSpec ks;
                kernel_spec(p, ki, &be->base, &ks);
                if (!ks.op)     /* a plan read back from a blob has no spec to generate from */
                    rc = diag_set(d, (SrcLoc){0}, "cpu backend: kernel %s has no spec", k->name);
                else if (ks.tune.kpairs == KPAIRS_AT_RUN)
                    rc = gen_dispatched(&c, f->gen, &ks, d);
                else
                    rc = f->gen(&c, &ks, d);
            }
        }
    }
    if (rc == 0 && c.bad_intrinsic)
        rc = diag_set(d, (SrcLoc){0}, "cpu backend: unknown LLVM intrinsic '%s' (a generator bug)",
                      c.bad_intrinsic);
    if (rc == 0 && c.bad_expr)
        rc = diag_set(d, (SrcLoc){0}, "cpu backend: the expression of %s (ops.def) does not build (a generator bug)",
                      c.bad_expr);
    cg_dispose(&c);
    if (rc) return rc;

    char *msg = NULL;
    if (LLVMVerifyModule(be->mod, LLVMReturnStatusAction, &msg)) {
        diag_set(d, (SrcLoc){0}, "cpu backend: generated IR is invalid (a generator bug): %.900s",
                 msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    double t1 = now_ms();

    char passes[32];
    int lvl = be->opts.opt_level < 0 ? 0 : be->opts.opt_level > 3 ? 3 : be->opts.opt_level;
    snprintf(passes, sizeof passes, "default<O%d>", lvl);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    if (!po) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot create pass options");
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    LLVMErrorRef e = merge_identical_kernels(be, po);
    if (!e) e = LLVMRunPasses(be->mod, passes, be->tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (e) return llvm_err(d, "optimisation failed", e);
    if (be->opts.time_passes)
        fprintf(stderr, "cpu backend: generate %.1f ms, %s %.1f ms\n", t1 - t0, passes,
                now_ms() - t1);
    return 0;
}

static int cpu_generate(Backend *b, Plan **plans, int nplans, const BackendOptions *o,
                        LtcDiag *d) {
    (void)o;   /* target options were fixed by backend_cpu_new */
    return cpu_build_module(b, plans, nplans, d);
}

LLVMModuleRef cpu_backend_module(Backend *b) { return self(b)->mod; }
LLVMTargetMachineRef cpu_backend_tm(Backend *b) { return self(b)->tm; }

/* ---- text ------------------------------------------------------------------------ */
static int cpu_emit_text(Backend *b, const char *kind, StrBuf *out, LtcDiag *d) {
    CpuBackend *be = self(b);
    if (!be->mod) return diag_set(d, (SrcLoc){0}, "cpu backend: nothing generated yet");
    if (strcmp(kind, "llvm") == 0) {
        char *s = LLVMPrintModuleToString(be->mod);
        if (!s) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot print the module");
        sb_puts(out, s);
        LLVMDisposeMessage(s);
        return 0;
    }
    if (strcmp(kind, "asm") == 0) {
        /* Code generation rewrites IR in place (CodeGenPrepare): use a clone. */
        LLVMModuleRef m = LLVMCloneModule(be->mod);
        if (!m) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot clone the module");
        char *err = NULL;
        LLVMMemoryBufferRef buf = NULL;
        LLVMBool bad = LLVMTargetMachineEmitToMemoryBuffer(be->tm, m, LLVMAssemblyFile, &err, &buf);
        LLVMDisposeModule(m);
        if (bad) {
            diag_set(d, (SrcLoc){0}, "cpu backend: assembly emission failed: %s", err ? err : "?");
            LLVMDisposeMessage(err);
            return -1;
        }
        size_t n = LLVMGetBufferSize(buf);
        const char *s = LLVMGetBufferStart(buf);
        for (size_t i = 0; i < n; i++) sb_putc(out, s[i]);
        LLVMDisposeMemoryBuffer(buf);
        return 0;
    }
    return diag_set(d, (SrcLoc){0}, "cpu backend: unknown text kind '%s' (llvm, asm)", kind);
}

/* ---- JIT ---------------------------------------------------------------------------- */
static int jit_start(CpuBackend *be, LtcDiag *d) {
    /* The large code model: constant-pool loads and calls use 64-bit
     * absolute addresses, so the kernels work wherever the JIT's linker
     * places them.  With the small model they are rip-relative 32-bit
     * displacements, and RuntimeDyld (LLVM 16's LLJIT linker on x86-64
     * ELF) maps code and read-only data separately: in a process with GBs
     * of other mappings the two can land more than 2 GiB apart, and a
     * release LLVM writes the truncated displacement without a word (the
     * kernel then reads a wild address; tests/unit/cpu_far.c makes that
     * happen).  A memory manager that keeps the sections together would
     * need custom allocation callbacks and still be one reservation away
     * from the limit; the large model has no such limit.  Its cost is a
     * movabs per constant-pool base, which the loops hoist (measured within
     * noise: docs/cpu_backend.md).  Static relocation: nothing is shared,
     * and RuntimeDyld resolves R_X86_64_64 directly, with no GOT. */
    LLVMTargetMachineRef tm2;
    if (make_tm(be, LLVMRelocStatic, LLVMCodeModelLarge, &tm2, d)) return -1;
    LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
    /* takes ownership of tm2 */
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
        jb, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm2));
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&be->jit, jb);   /* consumes jb */
    if (e) { be->jit = NULL; return llvm_err(d, "cannot create the JIT", e); }

    /* Kernels may call libm (erff, tanhf, expf...): resolve from the process. */
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(be->jit), NULL, NULL);
    if (e) return llvm_err(d, "cannot search process symbols", e);
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(be->jit), gen);
    return 0;
}

/* Hand (a clone of) the current module to the JIT: ours stays for
 * emit_text and AOT.  Its kernels join those of earlier modules. */
static int jit_add_module(CpuBackend *be, LtcDiag *d) {
    LLVMModuleRef m = LLVMCloneModule(be->mod);
    if (!m) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot clone the module");
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, be->tsc);
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(be->jit, LLVMOrcLLJITGetMainJITDylib(be->jit), tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return llvm_err(d, "cannot add the module to the JIT", e);
    }
    be->mod_in_jit = true;
    return 0;
}

/* The object code of the current module, as the JIT's own compiler makes
 * it: the same target machine settings as jit_start (static relocation,
 * the large code model; see there), from a clone (code generation
 * rewrites IR in place and mod stays for emit_text and AOT). */
static int cpu_jit_emit_object(Backend *b, void **obj, size_t *len, LtcDiag *d) {
    CpuBackend *be = self(b);
    *obj = NULL;
    *len = 0;
    if (!be->mod) return diag_set(d, (SrcLoc){0}, "cpu backend: nothing generated yet");
    if (!be->jit_tm && make_tm(be, LLVMRelocStatic, LLVMCodeModelLarge, &be->jit_tm, d)) return -1;
    LLVMModuleRef m = LLVMCloneModule(be->mod);
    if (!m) return diag_set(d, (SrcLoc){0}, "cpu backend: cannot clone the module");
    char *err = NULL;
    LLVMMemoryBufferRef buf = NULL;
    LLVMBool bad = LLVMTargetMachineEmitToMemoryBuffer(be->jit_tm, m, LLVMObjectFile, &err, &buf);
    LLVMDisposeModule(m);
    if (bad) {
        diag_set(d, (SrcLoc){0}, "cpu backend: object emission failed: %s", err ? err : "?");
        LLVMDisposeMessage(err);
        return -1;
    }
    size_t n = LLVMGetBufferSize(buf);
    void *copy = n ? malloc(n) : NULL;
    if (!copy) {
        LLVMDisposeMemoryBuffer(buf);
        return diag_set(d, (SrcLoc){0}, n ? "cpu backend: out of memory" : "cpu backend: empty object code");
    }
    memcpy(copy, LLVMGetBufferStart(buf), n);
    LLVMDisposeMemoryBuffer(buf);
    *obj = copy;
    *len = n;
    return 0;
}

/* An object (from cpu_jit_emit_object, now or in an earlier process) into
 * the JIT; the current module counts as loaded (it is that object, or,
 * on a disk hit, an older module whose code is already there). */
static int cpu_jit_add_object(Backend *b, const void *obj, size_t len, LtcDiag *d) {
    CpuBackend *be = self(b);
    if (!be->jit && jit_start(be, d)) {
        drop_jit(be);
        return -1;
    }
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, "ltc_region");
    if (!buf) return diag_set(d, (SrcLoc){0}, "cpu backend: out of memory");
    /* takes ownership of buf, also on failure */
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(be->jit, LLVMOrcLLJITGetMainJITDylib(be->jit), buf);
    if (e) return llvm_err(d, "cannot add the object code to the JIT", e);
    be->mod_in_jit = true;
    be->jit_has_code = true;
    return 0;
}

static int cpu_jit_lookup(Backend *b, const char *name, void **fn, LtcDiag *d) {
    CpuBackend *be = self(b);
    *fn = NULL;
    if (!be->mod && !be->jit_has_code) return diag_set(d, (SrcLoc){0}, "cpu backend: nothing generated yet");
    if (!be->jit && jit_start(be, d)) {
        drop_jit(be);
        return -1;
    }
    if (be->mod && !be->mod_in_jit && jit_add_module(be, d)) return -1;
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(be->jit, &addr, name);
    if (e) return llvm_err(d, "kernel lookup failed", e);
    if (!addr) return diag_set(d, (SrcLoc){0}, "cpu backend: kernel '%s' not found", name);
    *fn = (void *)(uintptr_t)addr;
    return 0;
}

static int cpu_emit_library_fwd(Backend *b, Plan **plans, int nplans, const char *path,
                                const void *weights, size_t weights_len, LtcDiag *d) {
    return cpu_emit_library(b, plans, nplans, path, weights, weights_len, d);
}

static void cpu_destroy(Backend *b) {
    if (!b) return;
    CpuBackend *be = self(b);
    drop_jit(be);
    drop_module(be);
    if (be->tm) LLVMDisposeTargetMachine(be->tm);
    if (be->jit_tm) LLVMDisposeTargetMachine(be->jit_tm);
    be->jit_tm = NULL;
    if (be->tsc) LLVMOrcDisposeThreadSafeContext(be->tsc);
    LLVMDisposeMessage(be->t.triple);
    LLVMDisposeMessage(be->t.cpu);
    LLVMDisposeMessage(be->t.features);
    be->tm = NULL; be->tsc = NULL;
    be->t.triple = be->t.cpu = be->t.features = NULL;
}

Backend *backend_cpu_new(Arena *a, const BackendOptions *o, LtcDiag *d) {
    CpuBackend *be = arena_alloc(a, sizeof *be);
    if (!be) { diag_set(d, (SrcLoc){0}, "cpu backend: out of memory"); return NULL; }
    be->arena = a;
    if (o) be->opts = *o;
    else be->opts.opt_level = 3;
    be->base.name = "cpu";
    be->base.device = CPU_DEVICE;
    be->base.self = be;
    be->base.buf_align = 64;
    be->base.supports = cpu_supports;
    be->base.tune = cpu_tune;
    be->base.generate = cpu_generate;
    be->base.emit_text = cpu_emit_text;
    be->base.emit_library = cpu_emit_library_fwd;
    be->base.jit_lookup = cpu_jit_lookup;
    be->base.jit_emit_object = cpu_jit_emit_object;
    be->base.jit_add_object = cpu_jit_add_object;
    be->base.destroy = cpu_destroy;
    if (target_init(be, d)) { cpu_destroy(&be->base); return NULL; }
    be->base.target = arena_printf(a, "%s %s %s", be->t.triple, be->t.cpu, be->t.features);
    if (!be->base.target) {
        diag_set(d, (SrcLoc){0}, "cpu backend: out of memory");
        cpu_destroy(&be->base);
        return NULL;
    }
    be->tsc = LLVMOrcCreateNewThreadSafeContext();
    if (!be->tsc) {
        diag_set(d, (SrcLoc){0}, "cpu backend: cannot create an LLVM context");
        cpu_destroy(&be->base);
        return NULL;
    }
    be->ctx = LLVMOrcThreadSafeContextGetContext(be->tsc);
    return &be->base;
}

/* Both variants of a kernel whose bf16 dot products are chosen at run time
 * (KernelTune.kpairs == KPAIRS_AT_RUN: an AVX-512 target without
 * AVX512-BF16): NAME_bf16dot, generated with +avx512bf16 added to its
 * functions' features, and NAME_f32fma, the widening kernel, both
 * internal; NAME, with the plan ABI, calls one by cg_cpu_has_bf16dot.
 * gemm_pack and gemm ask the same cached question, so packed panels and
 * the kernel reading them always agree.  LLVM does not inline a function
 * with more features into one with fewer, so no dot product reaches the
 * dispatcher. */
static int gen_dispatched(Cg *c, CpuGenFn *gen, const KernelSpec *ks, LtcDiag *d) {
    char ndot[512], nfma[512];
    if (snprintf(ndot, sizeof ndot, "%s_bf16dot", ks->name) >= (int)sizeof ndot ||
        snprintf(nfma, sizeof nfma, "%s_f32fma", ks->name) >= (int)sizeof nfma)
        return diag_set(d, ks->loc, "cpu backend: kernel name too long: %s", ks->name);
    KernelSpec v = *ks;
    v.name = ndot;
    v.tune.kpairs = 1;
    c->extra_features = "+avx512bf16";
    int rc = gen(c, &v, d);
    c->extra_features = NULL;
    if (rc) return rc;
    v.name = nfma;
    v.tune.kpairs = 0;
    if ((rc = gen(c, &v, d))) return rc;
    LLVMValueRef fdot = LLVMGetNamedFunction(c->mod, ndot), ffma = LLVMGetNamedFunction(c->mod, nfma);
    if (!fdot || !ffma) return diag_set(d, ks->loc, "cpu backend: %s: a variant was not generated", ks->name);
    LLVMSetLinkage(fdot, LLVMInternalLinkage);
    LLVMSetLinkage(ffma, LLVMInternalLinkage);
    LLVMValueRef fn = cg_kernel_begin(c, ks->name);
    LLVMValueRef args[5];
    for (int i = 0; i < 5; i++) args[i] = LLVMGetParam(fn, (unsigned)i);
    LLVMTypeRef ft = LLVMGlobalGetValueType(fdot);
    CgIf pick;
    cg_if(c, &pick, cg_cpu_has_bf16dot(c), true);
    LLVMBuildCall2(c->b, ft, fdot, args, 5, "");
    cg_else(c, &pick);
    LLVMBuildCall2(c->b, ft, ffma, args, 5, "");
    cg_endif(c, &pick);
    cg_kernel_end(c);
    return 0;
}
