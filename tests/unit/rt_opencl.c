/* rt_opencl.c: the OpenCL device (runtime/device_opencl.c) on PoCL: the
 * toy model as a GPU model (rt_gpu_testlib.h: OpenCL C kernels, a code
 * image, device "opencl") through ltc_model_open/bind/run against the
 * plain-C reference; what crosses to the device per run; refused tensors,
 * a missing OpenCL library, a source that does not build, damaged code
 * images; and a run under Oclgrind's race checker when it is installed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lispetorchc/runtime.h"
#include "tests/unit/rt_gpu_testlib.h"

static RtToyFiles tf;

static void setup(void) { cr_assert_eq(rt_toy_files(&tf), 0); }
static void teardown(void) { rt_rmdir(tf.dir); }

TestSuite(opencl, .init = setup, .fini = teardown);

/* Skip (visibly) where this runtime or this machine has no OpenCL. */
static void need_opencl(void) {
#ifndef LTC_HAVE_OPENCL
    cr_skip_test("the runtime was built without <CL/cl.h>");
#else
    char why[400];
    RtDevice *d = rt_device_open("opencl", 0, why, sizeof why);
    if (!d) cr_skip_test("no OpenCL here: %s", why);
    rt_device_close(d);
#endif
}

static ltc_model *open_gpu(const char *src) {
    cr_assert_eq(rt_gpu_build(&tf, src, NULL), 0, "building the model failed");
    ltc_error err;
    ltc_model *m = ltc_model_open(tf.so, &err);
    cr_assert_not_null(m, "%s", err.message);
    return m;
}

static void refused_open(ltc_status code, const char *needle) {
    ltc_error err;
    ltc_model *m = ltc_model_open(tf.so, &err);
    cr_assert_null(m);
    cr_assert_eq(err.code, code, "code %d: %s", err.code, err.message);
    cr_assert(strstr(err.message, needle), "'%s' not in '%s'", needle, err.message);
}

Test(opencl, toy_model_matches_reference) {
    need_opencl();
    ltc_model *m = open_gpu(rt_toy_cl_src);
    cr_assert_eq(ltc_model_bind_weights_file(m, tf.wfile), 0, "%s", ltc_last_error(m)->message);
    char msg[512] = "";
    int64_t shapes[4][2] = {{2, 3}, {1, 1}, {3, 7}, {1, 130}};
    for (int i = 0; i < 4; i++) {
        double e = rt_toy_check(m, shapes[i][0], shapes[i][1], 7u + (unsigned)i, msg, sizeof msg);
        cr_assert(e >= 0, "B=%lld S=%lld: %s", (long long)shapes[i][0], (long long)shapes[i][1], msg);
        cr_assert(e < 1e-5, "B=%lld S=%lld: off by %g", (long long)shapes[i][0], (long long)shapes[i][1], e);
    }
    cr_assert_eq(ltc_model_abi_version(m), LTC_RUNTIME_ABI);
    ltc_model_close(m);
}

/* 70000 rows: more tiles than LTC_GPU_MAX_GROUPS, so every step is two
 * launches and the second starts at tile0 = 65535. */
Test(opencl, steps_over_max_groups_split) {
    need_opencl();
    ltc_model *m = open_gpu(rt_toy_cl_src);
    cr_assert_eq(ltc_model_bind_weights_file(m, tf.wfile), 0, "%s", ltc_last_error(m)->message);
    char msg[512] = "";
    double e = rt_toy_check(m, 1, LTC_GPU_MAX_GROUPS + 4465, 3, msg, sizeof msg);
    cr_assert(e >= 0, "%s", msg);
    cr_assert(e < 1e-5, "off by %g", e);
    ltc_model_close(m);
}

/* Weights bound from memory the test owns, then scribbled over: the runs
 * still compute with the weights of the binding, so they were uploaded
 * once, at bind, not read from the host per run. */
Test(opencl, params_uploaded_once_at_bind) {
    need_opencl();
    ltc_model *m = open_gpu(rt_toy_cl_src);
    FILE *f = fopen(tf.wfile, "rb");
    cr_assert_not_null(f);
    static unsigned char buf[4096] __attribute__((aligned(64)));
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 0 && n < sizeof buf);
    cr_assert_eq(ltc_model_bind_weights_memory(m, buf, n), 0, "%s", ltc_last_error(m)->message);
    memset(buf, 0x7f, n);
    char msg[512] = "";
    for (int run = 0; run < 2; run++) {
        double e = rt_toy_check(m, 2, 5, 11u + (unsigned)run, msg, sizeof msg);
        cr_assert(e >= 0, "run %d: %s", run, msg);
        cr_assert(e < 1e-5, "run %d: off by %g", run, e);
    }
    cr_assert_eq(ltc_model_call_count(m), 2);
    ltc_model_close(m);
}

/* ---- the executor on the device, counting what crosses ---------------------------- */
static const RtDeviceOps *real_ops;
static int n_in, n_out, n_alloc;
static int count_in(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    n_in++;
    return real_ops->copy_to_device(d, dst, src, n, err, errlen);
}
static int count_out(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    n_out++;
    return real_ops->copy_to_host(d, dst, src, n, err, errlen);
}
static void *count_alloc(RtDevice *d, size_t n) {
    n_alloc++;
    return real_ops->alloc(d, n);
}

Test(opencl, runs_copy_inputs_in_and_outputs_out_only) {
    need_opencl();
    char err[512];
    RtDevice *dev = rt_device_open("opencl", 0, err, sizeof err);
    cr_assert_not_null(dev, "%s", err);
    static RtDeviceOps counting;
    real_ops = dev->ops;
    counting = *dev->ops;
    counting.copy_to_device = count_in;
    counting.copy_to_host = count_out;
    counting.alloc = count_alloc;
    dev->ops = &counting;
    cr_assert(!dev->ops->host_memory);

    size_t len = 0;
    uint8_t *img = rt_cl_image(rt_toy_cl_src, &len);
    cr_assert_not_null(img);
    LtcGpuKernel gk[4] = {{"k0_pack", 4, 0, 0}, {"k1_relu", 4, 0, 0}, {"k2_affine", 4, 0, 0}, {"k3_rowsum", 4, 0, 0}};
    LtcModelDescriptor desc;
    memset(&desc, 0, sizeof desc);
    desc.nkernels = 4;
    desc.code = img;
    desc.code_len = len;
    desc.gpu_kernels = gk;
    desc.device = "opencl";
    void *h[4];
    cr_assert_eq(dev->ops->load(dev, &desc, h, err, sizeof err), 0, "%s", err);

    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    void *dw = dev->ops->alloc(dev, 16), *db = dev->ops->alloc(dev, 16);
    cr_assert(dw && db);
    cr_assert_eq(dev->ops->copy_to_device(dev, dw, rt_w, 16, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dev->ops->copy_to_device(dev, db, rt_b, 16, err, sizeof err), 0, "%s", err);
    void *params[2] = {dw, db};
    uint32_t threads[4] = {4, 4, 4, 4};
    RtProgram pr = {p, h, threads, params, NULL, NULL, false, 0};
    cr_assert_eq(rt_prepack(&pr, dev, err, sizeof err), 0, "%s", err);

    enum { B = 2, S = 9, ROWS = B * S };
    float x[ROWS * 4], y[ROWS * 4], s[ROWS], ry[ROWS * 4], rs[ROWS];
    unsigned seed = 5;
    for (int i = 0; i < ROWS * 4; i++) x[i] = rt_rand(&seed);
    rt_toy_ref(x, ROWS, rt_w, rt_b, ry, rs);
    int64_t sv[LTC_MAX_SYMS] = {B, S};
    void *ins[1] = {x}, *outs[2] = {y, s};
    RtScratch scr = {0};
    n_in = n_out = n_alloc = 0;
    for (int run = 0; run < 2; run++) {
        memset(y, 0, sizeof y);
        memset(s, 0, sizeof s);
        cr_assert_eq(rt_run(&pr, dev, &scr, sv, ins, outs, err, sizeof err), 0, "%s", err);
        for (int i = 0; i < ROWS * 4; i++) cr_assert_float_eq(y[i], ry[i], 1e-5, "run %d y[%d]", run, i);
        for (int i = 0; i < ROWS; i++) cr_assert_float_eq(s[i], rs[i], 1e-5, "run %d s[%d]", run, i);
    }
    /* per run: x in, y and s out; one device allocation (scratch: arena
     * and staging together), kept for the second run */
    cr_assert_eq(n_in, 2, "%d copies to the device", n_in);
    cr_assert_eq(n_out, 4, "%d copies to the host", n_out);
    cr_assert_eq(n_alloc, 1, "%d allocations", n_alloc);

    rt_scratch_free(&scr);
    rt_program_free_packed(&pr);
    dev->ops->free(dev, dw);
    dev->ops->free(dev, db);
    dev->ops->unload(dev, h, 4);
    rt_device_close(dev);
    arena_free(&a);
    free(img);
}

/* Fake addresses: offsets inside a buffer decode; past it, or a host
 * pointer, are refused by the copies instead of reaching the driver. */
Test(opencl, fake_addresses_are_checked) {
    need_opencl();
    char err[512];
    RtDevice *dev = rt_device_open("opencl", 0, err, sizeof err);
    cr_assert_not_null(dev, "%s", err);
    char *p = dev->ops->alloc(dev, 100);            /* 128 bytes, zeroed */
    cr_assert_not_null(p);
    float v[4] = {1, 2, 3, 4}, back[8];
    cr_assert_eq(dev->ops->copy_to_device(dev, p + 64, v, 16, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dev->ops->copy_to_host(dev, back, p + 56, 32, err, sizeof err), 0, "%s", err);
    cr_assert(back[0] == 0 && back[1] == 0 && back[2] == 1 && back[5] == 4);
    cr_assert_eq(dev->ops->copy_to_device(dev, p + 120, v, 16, err, sizeof err), -1);
    cr_assert(strstr(err, "run past an OpenCL buffer of 128 bytes"), "%s", err);
    cr_assert_eq(dev->ops->copy_to_host(dev, back, v, 16, err, sizeof err), -1);
    cr_assert(strstr(err, "is not OpenCL device memory"), "%s", err);
    dev->ops->free(dev, p);
    cr_assert_eq(dev->ops->copy_to_host(dev, back, p, 16, err, sizeof err), -1, "freed buffer still readable");
    rt_device_close(dev);
}

/* ---- refusals --------------------------------------------------------------------- */
Test(opencl, tensors_of_another_device_type_refused) {
    need_opencl();
    ltc_model *m = open_gpu(rt_toy_cl_src);
    cr_assert_eq(ltc_model_bind_weights_file(m, tf.wfile), 0, "%s", ltc_last_error(m)->message);
    float x[24] = {0}, y[24], s[6];
    int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor in = {x, {kDLOpenCL, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
    DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                       {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), -1);
    cr_assert_eq(ltc_last_error(m)->code, LTC_ERR_DEVICE);
    cr_assert(strstr(ltc_last_error(m)->message, "input 'x': tensor is on device type 4, expected host (CPU) memory (device type 1)"),
              "%s", ltc_last_error(m)->message);
    in.device.device_type = kDLCPU;
    out[1].device.device_type = kDLCUDA;
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), -1);
    cr_assert(strstr(ltc_last_error(m)->message, "output 's': tensor is on device type 2"), "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
}

Test(opencl, missing_library_named) {
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, NULL), 0);
    setenv("LTC_OPENCL_LIB", "/nonexistent/libOpenCL.so.1", 1);
#ifdef LTC_HAVE_OPENCL
    refused_open(LTC_ERR_DEVICE, "OpenCL device: cannot load the OpenCL library '/nonexistent/libOpenCL.so.1'");
#else
    refused_open(LTC_ERR_DEVICE, "which this runtime does not have");
#endif
    unsetenv("LTC_OPENCL_LIB");
}

Test(opencl, device_number_out_of_range) {
    need_opencl();
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, NULL), 0);
    setenv("LTC_OPENCL_DEVICE", "99", 1);
    refused_open(LTC_ERR_DEVICE, "LTC_OPENCL_DEVICE=99, but there are");
    setenv("LTC_OPENCL_DEVICE", "0", 1);
    ltc_error err;
    ltc_model *m = ltc_model_open(tf.so, &err);
    cr_assert_not_null(m, "%s", err.message);
    ltc_model_close(m);
    unsetenv("LTC_OPENCL_DEVICE");
}

Test(opencl, build_failure_gives_the_log) {
    need_opencl();
    char src[sizeof rt_toy_cl_src + 64];
    snprintf(src, sizeof src, "%s", rt_toy_cl_src);
    char *at = strstr(src, "a.f[0]");
    cr_assert_not_null(at);
    memcpy(at, "zzqq_0", 6);                        /* an undeclared name */
    cr_assert_eq(rt_gpu_build(&tf, src, NULL), 0);
    refused_open(LTC_ERR_DEVICE, "clBuildProgram: CL_BUILD_PROGRAM_FAILURE: ");
    refused_open(LTC_ERR_DEVICE, "zzqq_0");
}

Test(opencl, kernel_missing_from_the_source) {
    need_opencl();
    char src[sizeof rt_toy_cl_src];
    snprintf(src, sizeof src, "%s", rt_toy_cl_src);
    char *at = strstr(src, "k3_rowsum");
    memcpy(at, "k3_rowsux", 9);
    cr_assert_eq(rt_gpu_build(&tf, src, NULL), 0);
    refused_open(LTC_ERR_DEVICE, "clCreateKernel('k3_rowsum'): CL_INVALID_KERNEL_NAME");
}

Test(opencl, group_size_over_the_device_limit) {
    need_opencl();
    size_t len = 0;
    uint8_t *img = rt_cl_image(rt_toy_cl_src, &len);
    RtSoOpts o = rt_gpu_opts(img, len);
    o.gpu_threads = 1u << 30;
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_DEVICE, "kernel 'k0_pack' runs groups of 1073741824 work-items; OpenCL device");
    free(img);
}

/* A code image whose bytes differ from what the seal's digest covered
 * (the file itself sealed after: only the descriptor digest sees it). */
Test(opencl, damaged_code_image_refused_by_the_seal) {
    size_t len = 0;
    uint8_t *img = rt_cl_image(rt_toy_cl_src, &len);
    uint8_t *bad = malloc(len);
    memcpy(bad, img, len);
    bad[len / 2] ^= 0x20;
    RtSoOpts o = rt_gpu_opts(bad, len);
    o.digest_code = img;
    o.digest_code_len = len;
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_FORMAT, "descriptor checksum mismatch (plans, code or metadata damaged)");

    /* one flipped bit in the source inside a sealed file: the file's CRC */
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, NULL), 0);
    int fd = open(tf.so, O_RDWR);
    cr_assert(fd >= 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    char *file = malloc((size_t)st.st_size);
    cr_assert_eq(pread(fd, file, (size_t)st.st_size, 0), st.st_size);
    char *src = memmem(file, (size_t)st.st_size, "k2_affine(PARAMS)", 17);
    cr_assert_not_null(src, "the OpenCL source is not in the file");
    char flipped = (char)(src[3] ^ 0x04);
    cr_assert_eq(pwrite(fd, &flipped, 1, src + 3 - file), 1);
    free(file);
    close(fd);
    refused_open(LTC_ERR_FORMAT, "checksum mismatch");
    refused_open(LTC_ERR_FORMAT, "the file is damaged");
    free(bad);
    free(img);
}

Test(opencl, code_image_without_opencl_or_malformed_refused) {
    need_opencl();
    /* a CUDA-only image */
    uint8_t *img = NULL;
    uint64_t n = 0;
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_CUDA_PTX, 80, "// ptx", 6), 0);
    RtSoOpts o = rt_gpu_opts(img, (size_t)n);
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_DEVICE, "the code image has no OpenCL C section");
    /* a bad magic, sealed as such */
    img[0] ^= 1;
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_DEVICE, "code image: bad magic");
    /* a section claiming more bytes than the image has */
    img[0] ^= 1;
    img[16] = 0xff;                                 /* len's low byte: 0xff > what follows */
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_DEVICE, "code image: section at byte 8 claims 255 bytes");
    free(img);
}

/* A GPU descriptor on the CPU device (no kernel table) and the reverse. */
Test(opencl, kernel_tables_match_the_device) {
    size_t len = 0;
    uint8_t *img = rt_cl_image(rt_toy_cl_src, &len);
    RtSoOpts o = rt_gpu_opts(img, len);
    o.device = "cpu";
    o.features = "+sse2";
    cr_assert_eq(rt_gpu_build(&tf, rt_toy_cl_src, &o), 0);
    refused_open(LTC_ERR_FORMAT, "the descriptor has no kernel table (it lists GPU kernels, but names the CPU device)");
    free(img);
}

/* ---- Oclgrind ---------------------------------------------------------------------- */
#define OCLGRIND_RT "/usr/lib/oclgrind/liboclgrind-rt.so"

/* Run the toy at B x S with Oclgrind as the OpenCL library (its race and
 * bounds checks on), stderr into a file; what Oclgrind said, malloc'ed. */
static char *under_oclgrind(const char *src, double *worst) {
    char log[300];
    snprintf(log, sizeof log, "%s/oclgrind.log", tf.dir);
    cr_assert_eq(rt_gpu_build(&tf, src, NULL), 0);
    setenv("LTC_OPENCL_LIB", OCLGRIND_RT, 1);
    setenv("OCLGRIND_DATA_RACES", "1", 1);
    setenv("OCLGRIND_CHECK_API", "1", 1);
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    ltc_error err;
    ltc_model *m = ltc_model_open(tf.so, &err);
    char msg[512] = "";
    *worst = -1;
    if (m && ltc_model_bind_weights_file(m, tf.wfile) == 0) *worst = rt_toy_check(m, 1, 3, 9, msg, sizeof msg);
    ltc_model_close(m);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    unsetenv("LTC_OPENCL_LIB");
    cr_assert_not_null(m, "%s", err.message);
    FILE *f = fopen(log, "r");
    static char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    return text;
}

Test(opencl, toy_model_clean_under_oclgrind, .timeout = 120) {
    if (access(OCLGRIND_RT, R_OK) != 0) cr_skip_test("Oclgrind is not installed (" OCLGRIND_RT ")");
    double worst;
    char *said = under_oclgrind(rt_toy_cl_src, &worst);
    cr_assert(worst >= 0 && worst < 1e-5, "run failed or wrong (%g): %s", worst, said);
    cr_assert(!strstr(said, "race") && !strstr(said, "Invalid") && !strstr(said, "rror"), "Oclgrind: %s", said);
}

/* The same check catches a planted bug: k3_rowsum without its barrier. */
Test(opencl, oclgrind_finds_a_planted_race, .timeout = 120) {
    if (access(OCLGRIND_RT, R_OK) != 0) cr_skip_test("Oclgrind is not installed (" OCLGRIND_RT ")");
    char src[sizeof rt_toy_cl_src];
    snprintf(src, sizeof src, "%s", rt_toy_cl_src);
    char *at = strstr(src, "barrier(CLK_LOCAL_MEM_FENCE);");
    cr_assert_not_null(at);
    memset(at, ' ', strlen("barrier(CLK_LOCAL_MEM_FENCE);"));
    double worst;
    char *said = under_oclgrind(src, &worst);
    cr_assert(strstr(said, "data race"), "Oclgrind said: %s", said);
}
