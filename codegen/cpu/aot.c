/* aot.c: model.so = generated kernels + descriptor, linked by the system C
 * compiler.
 *
 *   clone the backend's module  (emission rewrites IR; keep the original)
 *   add the descriptor           (descriptor.c)
 *   emit an object file          LLVMTargetMachineEmitToFile
 *   cc -shared -o tmp obj -lm    exit status checked, messages kept
 *   rename(tmp, path)            no partial output on any failure
 *
 * Every intermediate file is registered with support/tempfiles.h (and the
 * linker's pid), so that SIGINT/SIGTERM leaves none of them behind. */
#include "codegen/cpu/aot.h"
#include "codegen/cpu/cpu.h"
#include "plan/serialize.h"
#include "plan/seal.h"

#include <llvm-c/Analysis.h>

#include "support/tempfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv, stderr+stdout into log; 0 when it exits with status 0. */
static int run_tool(char *const argv[], const char *log, int *status) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return -1;
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) { errno = e; return -1; }
    tempfiles_set_child(pid);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { tempfiles_set_child(0); return -1; }
    tempfiles_set_child(0);
    *status = st;
    return 0;
}

static void read_log(const char *log, char *buf, size_t n) {
    buf[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f) return;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' ')) buf[--k] = 0;
}

int aot_link_shared(const char *obj, const char *out, LtcDiag *d) {
    SrcLoc nl = {0};
    char log[4200];
    if (snprintf(log, sizeof log, "%s.log", out) >= (int)sizeof log)
        return diag_set(d, nl, "output path too long: '%s'", out);
    if (tempfiles_add(log) != 0) return diag_set(d, nl, "too many temporary files (linking '%s')", out);
    /* -z defs: an unresolved symbol is a link error now, not a dlopen
     * failure later.  Only libc and libm are linked. */
    const char *compilers[] = {"cc", "gcc", "clang"};
    int rc = -1;
    bool found = false;
    for (size_t i = 0; i < sizeof compilers / sizeof *compilers; i++) {
        char *argv[] = {(char *)compilers[i], "-shared", "-o", (char *)out, (char *)obj,
                        "-Wl,-z,defs", "-Wl,-z,noexecstack", "-lm", NULL};
        int st = 0;
        if (run_tool(argv, log, &st) != 0) {
            if (errno == ENOENT) continue;              /* try the next compiler */
            found = true;
            rc = diag_set(d, nl, "cannot run the linker '%s': %s", compilers[i], strerror(errno));
            break;
        }
        found = true;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { rc = 0; break; }
        char msg[700];
        read_log(log, msg, sizeof msg);
        rc = diag_set(d, nl, "linking '%s' failed (%s %s %d): %s", out, compilers[i],
                      WIFEXITED(st) ? "exit status" : "signal",
                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), msg);
        break;
    }
    if (!found) rc = diag_set(d, nl, "no C compiler (cc, gcc, clang) found to link '%s'", out);
    unlink(log);
    tempfiles_remove(log);
    if (rc != 0) unlink(out);
    return rc;
}

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
        rc = aot_link_shared(obj, tmp, d);
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
