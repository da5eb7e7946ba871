/* module.c: the kernels a GPU backend has generated, as one source and
 * one LtcGpuKernel table (plan/gpu_abi.h). */
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/csrc/csrc.h"

int csrc_module_add(CsModule *m, const CDialect *dl, Backend *b, Plan **plans, int nplans, LtcDiag *d) {
    for (int i = 0; i < nplans; i++) {
        const Plan *p = plans[i];
        for (int k = 0; k < p->nkernels; k++) {
            KernelSpec s;
            CsInfo info;
            kernel_spec(p, k, b, &s);
            if (m->nkernels == m->cap) {
                int cap = m->cap ? 2 * m->cap : 32;
                LtcGpuKernel *nk = realloc(m->kernels, sizeof *nk * (size_t)cap);
                if (nk) m->kernels = nk;
                size_t *ns = nk ? realloc(m->starts, sizeof *ns * (size_t)cap) : NULL;
                if (!ns) return diag_set(d, s.loc, "%s backend: out of memory", dl->name);
                m->starts = ns;
                m->cap = cap;
            }
            m->starts[m->nkernels] = m->src.len;
            if (csrc_render(dl, &s, &m->src, &info, d) != 0) return -1;
            char *name = strdup(s.name ? s.name : "");
            if (!name) return diag_set(d, s.loc, "%s backend: out of memory", dl->name);
            m->kernels[m->nkernels++] = (LtcGpuKernel){name, (uint32_t)info.threads, (uint32_t)info.shared_bytes,
                                                           info.reads_call ? LTC_GPU_READS_CALL : 0};
        }
    }
    return 0;
}

char *csrc_module_source(const CsModule *m, const CDialect *dl) {
    StrBuf o = {0};
    csrc_preamble(dl, &o);
    if (m->src.s) sb_puts(&o, m->src.s);
    if (o.oom) {
        sb_free(&o);
        return NULL;
    }
    return o.s;
}

void csrc_module_free(CsModule *m) {
    for (int i = 0; i < m->nkernels; i++) free((char *)m->kernels[i].name);
    free(m->kernels);
    free(m->starts);
    sb_free(&m->src);
    memset(m, 0, sizeof *m);
}
