/* aot.c: model.so = generated kernels + descriptor, linked by the system C
 * compiler.
 *
 *   clone the backend's module  (emission rewrites IR; keep the original)
 *   add the descriptor           (descriptor.c)
 *   emit an object file          LLVMTargetMachineEmitToFile
 *   cc -shared -o tmp obj -lm    support/link.c: exit status checked, messages kept
 *   rename(tmp, path)            no partial output on any failure
 *
 * Every intermediate file is registered with support/tempfiles.h (and the
 * linker's pid), so that SIGINT/SIGTERM leaves none of them behind. */
#include "codegen/cpu/aot.h"
#include "codegen/cpu/cpu.h"
#include "plan/serialize.h"
#include "plan/seal.h"

#include <llvm-c/Analysis.h>

#include "support/link.h"
#include "support/tempfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int emit_and_link(LLVMModuleRef mod, LLVMTargetMachineRef tm, Plan **plans, int nplans,
                         const char *obj, const char *tmp, const char *path, const void *weights,
                         size_t weights_len, LtcDiag *d);

int aot_emit_library(LLVMModuleRef mod, LLVMTargetMachineRef tm, Plan **plans, int nplans,
                     const char *path, const void *weights, size_t weights_len, LtcDiag *d) {
    SrcLoc nl = {0};
    if (!mod || !tm || !path) return diag_set(d, nl, "aot: no module, target machine or path");
    char obj[4200], tmp[4200];
    if (snprintf(obj, sizeof obj, "%s.tmp.%d.o", path, (int)getpid()) >= (int)sizeof obj ||
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return diag_set(d, nl, "output path too long: '%s'", path);
    if (tempfiles_add(obj) != 0) return diag_set(d, nl, "too many temporary files (writing '%s')", path);
    if (tempfiles_add(tmp) != 0) {
        tempfiles_remove(obj);
        return diag_set(d, nl, "too many temporary files (writing '%s')", path);
    }
    int rc = emit_and_link(mod, tm, plans, nplans, obj, tmp, path, weights, weights_len, d);
    tempfiles_remove(obj);
    tempfiles_remove(tmp);
    return rc;
}

static int emit_and_link(LLVMModuleRef mod, LLVMTargetMachineRef tm, Plan **plans, int nplans,
                         const char *obj, const char *tmp, const char *path, const void *weights,
                         size_t weights_len, LtcDiag *d) {
    SrcLoc nl = {0};
    LLVMModuleRef m = LLVMCloneModule(mod);
    if (!m) return diag_set(d, nl, "aot: cannot clone the module");
    char *triple = LLVMGetTargetMachineTriple(tm);
    char *cpu = LLVMGetTargetMachineCPU(tm);
    char *feats = LLVMGetTargetMachineFeatureString(tm);
    int rc = aot_add_descriptor(m, plans, nplans, triple, cpu, feats, weights, weights_len, d);
    /* The seal's descriptor digest: over the same bytes descriptor.c stores
     * (serialization is deterministic), checked by ltc_model_open. */
    uint32_t digest = 0;
    if (rc == 0) {
        StrBuf blob = {0};
        rc = plan_serialize(plans, nplans, &blob, d);
        if (rc == 0)
            digest = seal_desc_digest((const uint8_t *)blob.s, blob.len, LTC_VERSION, triple ? triple : "",
                                    cpu ? cpu : "", feats ? feats : "", CPU_DEVICE, NULL, 0);
        sb_free(&blob);
    }
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(feats);
    if (rc == 0) {
        char *msg = NULL;
        if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg))
            rc = diag_set(d, nl, "aot: module with descriptor is invalid: %.800s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
    }
    if (rc == 0) {
        char *err = NULL;
        if (LLVMTargetMachineEmitToFile(tm, m, obj, LLVMObjectFile, &err)) {
            rc = diag_set(d, nl, "aot: object emission failed: %s", err ? err : "?");
            unlink(obj);
        }
        LLVMDisposeMessage(err);
    }
    LLVMDisposeModule(m);
    if (rc == 0) {
        rc = link_shared((const char *[]){obj}, 1, tmp, d);
        unlink(obj);
    }
    if (rc == 0) {                  /* whole-file CRC32C + digest trailer (runtime/rt_seal.h) */
        char why[600];
        if (seal_write(tmp, digest, why, sizeof why) != 0) {
            rc = diag_set(d, nl, "%s", why);
            unlink(tmp);
        }
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = diag_set(d, nl, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* Backend.emit_library of the CPU backend.  The module must hold every
 * kernel of these plans; if it does not (not generated yet, or generated
 * for other plans), it is rebuilt. */
int cpu_emit_library(Backend *b, Plan **plans, int nplans, const char *path,
                     const void *weights, size_t weights_len, LtcDiag *d) {
    LLVMModuleRef mod = cpu_backend_module(b);
    bool complete = mod != NULL;
    for (int i = 0; complete && i < nplans; i++)
        for (int k = 0; complete && k < plans[i]->nkernels; k++)
            complete = LLVMGetNamedFunction(mod, plans[i]->kernels[k].name) != NULL;
    if (!complete) {
        if (cpu_build_module(b, plans, nplans, d) != 0) return -1;
        mod = cpu_backend_module(b);
    }
    return aot_emit_library(mod, cpu_backend_tm(b), plans, nplans, path, weights, weights_len, d);
}
