/* gpu_nvrtc.c: every kernel of every example, as the cuda backend writes
 * it, compiled alone by NVRTC for sm_80 and sm_90a with ptxas -v; the log
 * must show no spill stores or loads.  Prints registers and shared memory
 * per kernel (the table in docs/gpu_backends.md comes from here). */
#include "tests/unit/gpu_examples.h"

#ifdef LTC_HAVE_CUDA
#include "codegen/cuda/cuda.h"

/* "Used 40 registers, ..., 8192 bytes smem" and "N bytes spill stores, M
 * bytes spill loads" of ptxas -v for the (one) function of a log */
static void ptxas_info(const char *log, int *regs, int *smem, int *spill_st, int *spill_ld) {
    *regs = *smem = *spill_st = *spill_ld = -1;
    const char *p = strstr(log, "Used ");
    if (p) *regs = atoi(p + 5);
    const char *q = p ? strstr(p, "bytes smem") : NULL;
    if (q) {
        const char *b = q;
        while (b > p && b[-1] == ' ') b--;
        while (b > p && b[-1] >= '0' && b[-1] <= '9') b--;
        *smem = atoi(b);
    } else if (p) {
        *smem = 0;
    }
    const char *s = strstr(log, "bytes spill stores");
    if (s) {
        const char *b = s;
        while (b > log && b[-1] == ' ') b--;
        while (b > log && b[-1] >= '0' && b[-1] <= '9') b--;
        *spill_st = atoi(b);
        const char *l = strstr(s, "bytes spill loads");
        if (l) {
            b = l;
            while (b > s && b[-1] == ' ') b--;
            while (b > s && b[-1] >= '0' && b[-1] <= '9') b--;
            *spill_ld = atoi(b);
        }
    }
}

/* Every kernel of every example, compiled with `extra` options (the
 * dtype), alone through NVRTC for both targets: no error, no spill. */
static void every_example(const char *extra) {
    int nex;
    char **ex = gx_examples(&nex);
    cr_assert_gt(nex, 0);
    const char *archs[2] = {"sm_80", "sm_90a"};
    int total = 0;
    for (int e = 0; e < nex; e++) {
        GxSource g;
        gx_generate_opts(ex[e], "cuda", "cuda", extra, &g);
        CudaJob *jobs = calloc((size_t)g.n * 2, sizeof *jobs);
        char **srcs = calloc((size_t)g.n, sizeof *srcs);
        cr_assert(jobs && srcs);
        for (int k = 0; k < g.n; k++) {
            size_t l = strlen(g.preamble) + strlen(g.k[k].text) + 1;
            srcs[k] = malloc(l);
            cr_assert(srcs[k]);
            snprintf(srcs[k], l, "%s%s", g.preamble, g.k[k].text);
            for (int a = 0; a < 2; a++)
                jobs[2 * k + a] = (CudaJob){.src = srcs[k], .file = g.k[k].name, .arch = archs[a], .extra = "-Xptxas=-v"};
        }
        int rc = cuda_compile_jobs(jobs, 2 * g.n, 2);
        for (int j = 0; j < 2 * g.n; j++) cr_expect(jobs[j].rc == 0, "%s: %s", ex[e], jobs[j].err);
        cr_assert(rc == 0);
        const char *base = strrchr(ex[e], '/') + 1;
        for (int k = 0; k < g.n; k++)
            for (int a = 0; a < 2; a++) {
                int regs, smem, st, ld;
                ptxas_info(jobs[2 * k + a].log ? jobs[2 * k + a].log : "", &regs, &smem, &st, &ld);
                cr_expect(regs > 0, "%s %s: no ptxas -v line in the log:\n%s", g.k[k].name, archs[a],
                          jobs[2 * k + a].log ? jobs[2 * k + a].log : "");
                /* the sm_90a wgmma GEMM runs at <= 128 registers (two groups
                 * per SM): a few words of epilogue spill are its price */
                int slack = a == 1 && strstr(g.k[k].text, "ltc_wgmma_") ? 32 : 0;
                cr_expect(st <= slack && ld <= slack, "%s %s: spills (%d bytes stored, %d loaded)", g.k[k].name, archs[a],
                          st, ld);
                fprintf(stderr, "nvrtc: %-30s %-7s %s%-48s %3d registers %6d B shared, spills %d/%d\n", base, archs[a],
                        extra ? "bf16 " : "", g.k[k].name, regs, smem, st, ld);
                total++;
            }
        for (int j = 0; j < 2 * g.n; j++) cuda_job_free(&jobs[j]);
        for (int k = 0; k < g.n; k++) free(srcs[k]);
        free(srcs);
        free(jobs);
        gx_free(&g);
    }
    fprintf(stderr, "nvrtc: %d kernel compilations of %d examples%s, no spills\n", total, nex, extra ? " in bf16" : "");
}

Test(gpu_nvrtc, every_example_kernel_sm80_sm90a, .timeout = 1800) { every_example(NULL); }

/* --dtype bf16: u16 storage, bit-operation conversions, fp32 arithmetic */
Test(gpu_nvrtc, every_example_kernel_bf16_sm80_sm90a, .timeout = 1800) { every_example("--dtype bf16"); }

/* f16 through inline PTX cvt (no cuda_fp16.h): the seed example */
Test(gpu_nvrtc, flash_example_f16_sm80_sm90a, .timeout = 600) {
    GxSource g;
    gx_generate_opts(LTC_SOURCE_DIR "/examples/flash_transformer_example.lsp", "cuda", "cuda", "--dtype f16", &g);
    cr_assert(strstr(g.preamble, "cvt.rn.f16.f32") && !strstr(g.all, "#include"));
    const char *archs[2] = {"sm_80", "sm_90a"};
    for (int a = 0; a < 2; a++) {
        CudaJob j = {.src = g.all, .file = "flash_f16.cu", .arch = archs[a], .extra = "-Xptxas=-v"};
        cr_expect(cuda_compile_jobs(&j, 1, 1) == 0, "%s: %s", archs[a], j.err);
        cuda_job_free(&j);
    }
    gx_free(&g);
}

/* The tensor-core GEMM (r_gemm_mma.c) of bf16 and f16 specs made here
 * (linear with bias + gelu + residual, qkv head-split, matmul): NVRTC for
 * sm_80 and sm_90a, no spills. */
Test(gpu_nvrtc, mma_gemm_bf16_f16_no_spills, .timeout = 600) {
    const char *archs[2] = {"sm_80", "sm_90a"};
    for (int v = 0; v < 6; v++) {
        KernelSpec ks;
        memset(&ks, 0, sizeof ks);
        DType t = v % 2 ? DT_F16 : DT_BF16;
        ks.name = "k_mma";
        ks.family = "gemm";
        ks.op = "fused_linear";
        ks.dtype = t;
        ks.nin = 2;
        ks.in_dtypes[0] = ks.in_dtypes[1] = t;
        if (v / 2 == 0) { ks.bias = ks.residual = true; ks.act = OP_GELU; ks.nin = 4; ks.in_dtypes[2] = ks.in_dtypes[3] = t; }
        if (v / 2 == 1) { ks.gemm.qkv = true; ks.bias = true; ks.nin = 3; ks.in_dtypes[2] = t; }
        if (v / 2 == 2) ks.gemm.kind = 1;
        const char *why;
        cr_assert(csrc_supports_in(&csrc_cuda, &ks, &why), "%s", why);
        csrc_tune_in(&csrc_cuda, &ks);
        StrBuf src = {0};
        LtcDiag d = {0};
        csrc_preamble(&csrc_cuda, &src);
        cr_assert(csrc_render(&csrc_cuda, &ks, &src, NULL, &d) == 0, "%s", d.msg);
        cr_assert(strstr(src.s, "mma.sync.aligned.m16n8k16") && !strstr(src.s, "#include"));
        if (getenv("LTC_MMA_DUMP") && v == 0) {   /* the source, for a check on a GPU by hand */
            FILE *f = fopen(getenv("LTC_MMA_DUMP"), "w");
            if (f) { fputs(src.s, f); fclose(f); }
        }
        CudaJob jobs[2];
        for (int a = 0; a < 2; a++) jobs[a] = (CudaJob){.src = src.s, .file = "k_mma", .arch = archs[a], .extra = "-Xptxas=-v"};
        int rc = cuda_compile_jobs(jobs, 2, 2);
        for (int a = 0; a < 2; a++) {
            cr_expect(jobs[a].rc == 0, "%s", jobs[a].err);
            int regs, smem, st, ld;
            ptxas_info(jobs[a].log ? jobs[a].log : "", &regs, &smem, &st, &ld);
            /* sm_90a: the wgmma loop is capped at 128 registers for two
             * groups per SM (311 TFLOP/s against 257 with one, on an
             * H200); the epilogue may spill a few words, the loop none */
            int slack = a == 1 ? 32 : 0;
            cr_expect(rc == 0 && regs > 0 && st <= slack && ld <= slack, "variant %d %s: %d registers, spills %d/%d",
                      v, archs[a], regs, st, ld);
            if (a == 1 && v / 2 < 2) cr_expect(regs <= 128 && strstr(src.s, "wgmma.mma_async") && strstr(src.s, "ltc_dsm_k_mma"));
            fprintf(stderr, "nvrtc: mma gemm variant %d %-7s %3d registers %6d B shared, spills %d/%d\n", v, archs[a], regs, smem, st, ld);
            cuda_job_free(&jobs[a]);
        }
        sb_free(&src);
    }
}

/* The attention tune at the tiled renderer's head-dim boundaries
 * (r_attn_tiled.c: 64 x 24 to Dm = 64, 32 x 24 to 128, 16 x 8 to 256,
 * r_attn.c above; r_attn_mma.c for CUDA bf16 with D % 16 == 0 and no
 * dropout), the shared bytes of each rendering within 32 KiB in every
 * dialect, and the CUDA source of the largest tiles (f32 with a float
 * mask, causal and dropout) through NVRTC for sm_80 and sm_90a, no spills. */
Test(gpu_nvrtc, attention_tiles_and_no_spills, .timeout = 600) {
    static const struct { int D, Dv; DType t; bool drop; int br, bc; } cases[] = {
        {8, 8, DT_F32, false, 64, 24},      {64, 64, DT_F32, true, 64, 24},    {40, 72, DT_F32, false, 32, 24},
        {128, 128, DT_F32, true, 32, 24},   {65, 16, DT_F32, false, 32, 24},   {200, 256, DT_F32, true, 16, 8},
        {256, 256, DT_F32, false, 16, 8},   {257, 64, DT_F32, false, 1, 128},  {512, 512, DT_F32, true, 1, 128},
        {64, 64, DT_BF16, false, 64, 64},   {64, 64, DT_BF16, true, 64, 24},   {40, 40, DT_F16, false, 64, 24},
    };
    const CDialect *dls[3] = {&csrc_cuda, &csrc_opencl, &csrc_metal};
    const char *archs[2] = {"sm_80", "sm_90a"};
    for (size_t v = 0; v < sizeof cases / sizeof *cases; v++) {
        for (int di = 0; di < 3; di++) {
            KernelSpec ks;
            memset(&ks, 0, sizeof ks);
            ks.name = "k_attn";
            ks.family = "flash_attention";
            ks.op = "sdpa";
            ks.dtype = cases[v].t;
            ks.nin = 4;
            ks.in_dtypes[0] = ks.in_dtypes[1] = ks.in_dtypes[2] = ks.in_dtypes[3] = cases[v].t;
            ks.mask = 2;
            ks.causal = true;
            ks.training = cases[v].drop;
            ks.p = cases[v].drop ? 0.1 : 0;
            ks.head_dim = cases[v].D;
            ks.value_dim = cases[v].Dv;
            ks.group = 2;
            const char *why;
            cr_assert(csrc_supports_in(dls[di], &ks, &why), "%s", why);
            csrc_tune_in(dls[di], &ks);
            /* the tensor-core blocking only where the dialect has it */
            int br = cases[v].br == 64 && cases[v].bc == 64 && !dls[di]->has_mma ? 64 : cases[v].br;
            int bc = cases[v].br == 64 && cases[v].bc == 64 && !dls[di]->has_mma ? 24 : cases[v].bc;
            cr_expect(ks.tune.att_br == br && ks.tune.att_bc == bc, "D %d Dv %d %s: tuned %d x %d, not %d x %d",
                      cases[v].D, cases[v].Dv, dls[di]->name, ks.tune.att_br, ks.tune.att_bc, br, bc);
            StrBuf src = {0};
            LtcDiag d = {0};
            CsInfo info = {0};
            csrc_preamble(dls[di], &src);
            cr_assert(csrc_render(dls[di], &ks, &src, &info, &d) == 0, "%s", d.msg);
            cr_expect(info.shared_bytes <= 32768, "D %d Dv %d %s: %d bytes of shared memory", cases[v].D, cases[v].Dv,
                      dls[di]->name, info.shared_bytes);
            cr_expect(info.reads_call == cases[v].drop);
            if (di == 0 && (v == 1 || v == 3 || v == 5 || v == 6)) {
                CudaJob jobs[2];
                for (int a = 0; a < 2; a++)
                    jobs[a] = (CudaJob){.src = src.s, .file = "k_attn", .arch = archs[a], .extra = "-Xptxas=-v"};
                int rc = cuda_compile_jobs(jobs, 2, 2);
                for (int a = 0; a < 2; a++) {
                    cr_expect(jobs[a].rc == 0, "%s", jobs[a].err);
                    int regs, smem, st, ld;
                    ptxas_info(jobs[a].log ? jobs[a].log : "", &regs, &smem, &st, &ld);
                    cr_expect(rc == 0 && regs > 0 && st == 0 && ld == 0, "D %d %s: %d registers, spills %d/%d",
                              cases[v].D, archs[a], regs, st, ld);
                    fprintf(stderr, "nvrtc: tiled attention D %3d Dv %3d %-7s %3d registers %6d B shared, spills %d/%d\n",
                            cases[v].D, cases[v].Dv, archs[a], regs, smem, st, ld);
                    cuda_job_free(&jobs[a]);
                }
            }
            sb_free(&src);
        }
    }
}

/* The wide tensor-core attention tile (r_attn_mma.c: 128 query rows per
 * group, Q in dynamic shared memory), as the tune picks it for unmasked
 * bf16 attention with D > 64 on CUDA (causal and grouped-query here), through NVRTC:
 * no spills on sm_90a (the H200's cubin; sm_80's may spill a little at D
 * 128), its dynamic shared memory published as ltc_dsm_<name>; masked
 * attention keeps the 64-row tile. */
Test(gpu_nvrtc, attention_mma_wide_no_spills, .timeout = 600) {
    static const int dims[] = {96, 128};
    for (int v = 0; v < 2; v++) {
        KernelSpec ks;
        memset(&ks, 0, sizeof ks);
        ks.name = "k_attn";
        ks.family = "flash_attention";
        ks.op = "sdpa";
        ks.dtype = DT_BF16;
        ks.nin = 3;
        ks.in_dtypes[0] = ks.in_dtypes[1] = ks.in_dtypes[2] = DT_BF16;
        ks.causal = true;
        ks.head_dim = ks.value_dim = dims[v];
        ks.group = 4;
        const char *why;
        cr_assert(csrc_supports_in(&csrc_cuda, &ks, &why), "%s", why);
        csrc_tune_in(&csrc_cuda, &ks);
        cr_expect(ks.tune.att_br == CS_ATTM_BRW && ks.tune.att_bc == CS_ATTM_BC, "D %d: tuned %d x %d", dims[v],
                  ks.tune.att_br, ks.tune.att_bc);
        StrBuf src = {0};
        LtcDiag d = {0};
        CsInfo info = {0};
        csrc_preamble(&csrc_cuda, &src);
        cr_assert(csrc_render(&csrc_cuda, &ks, &src, &info, &d) == 0, "%s", d.msg);
        int want = (CS_ATTM_BRW * (dims[v] + 8) + 2 * CS_ATTM_BC * (dims[v] + 8)) * 2;
        char dsm[64];
        snprintf(dsm, sizeof dsm, "ltc_dsm_k_attn = %du;", want);
        cr_expect(info.shared_bytes == want && strstr(src.s, dsm), "D %d: %d bytes of shared memory, want %s", dims[v],
                  info.shared_bytes, dsm);
        CudaJob j = {.src = src.s, .file = "k_attn", .arch = "sm_90a", .extra = "-Xptxas=-v"};
        int rc = cuda_compile_jobs(&j, 1, 1);
        cr_expect(rc == 0 && j.rc == 0, "%s", j.err);
        int regs, smem, st, ld;
        ptxas_info(j.log ? j.log : "", &regs, &smem, &st, &ld);
        cr_expect(regs > 0 && st == 0 && ld == 0, "D %d sm_90a: %d registers, spills %d/%d", dims[v], regs, st, ld);
        fprintf(stderr, "nvrtc: mma attention, wide, D %3d sm_90a %3d registers, spills %d/%d\n", dims[v], regs, st, ld);
        cuda_job_free(&j);
        sb_free(&src);
    }
}

/* An NVRTC error names the generated line. */
Test(gpu_nvrtc, error_quotes_the_source_line) {
    CudaJob j = {.src = "typedef int i64;\nextern \"C\" __global__ void k(int *p) {\n    p[0] = undefined_x;\n}\n",
                 .file = "bad.cu", .arch = "sm_80"};
    cr_assert(cuda_compile_jobs(&j, 1, 1) != 0);
    cr_assert(strstr(j.err, "bad.cu(3)") && strstr(j.err, "p[0] = undefined_x;"), "%s", j.err);
    cuda_job_free(&j);
}
#else
Test(gpu_nvrtc, skipped_without_cuda) { cr_skip_test("the cuda backend is not built (no NVRTC)"); }
#endif
