/* rt_api.c: the public runtime API (lispetorchc/runtime.h) on model.so
 * files built from the toy plan with C kernels (rt_testlib.h): running at
 * two shapes, metadata, weights, and every kind of bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>

#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static char dir[64];
static char so[200], wfile[200];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/toy.so", dir);
    snprintf(wfile, sizeof wfile, "%s/w.safetensors", dir);
}

static void teardown(void) { rt_rmdir(dir); }

/* Build the toy model.so with options o and open it. */
static ltc_model *open_toy(const RtSoOpts *o, ltc_error *err) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    cr_assert_eq(rt_build_so(so, p, 1, o), 0, "cc failed");
    arena_free(&a);
    return ltc_model_open(so, err);
}

static ltc_model *open_bound(void) {
    RtSoOpts o = rt_so_defaults();
    ltc_error err;
    ltc_model *m = open_toy(&o, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, wfile), 0, "%s", ltc_last_error(m)->message);
    return m;
}

static DLTensor f32_tensor(float *data, int ndim, int64_t *shape) {
    DLTensor t = {data, {kDLCPU, 0}, ndim, {kDLFloat, 32, 1}, shape, NULL, 0};
    return t;
}

static void check_run(ltc_model *m, int64_t B, int64_t S, unsigned seed, bool alloc) {
    int64_t rows = B * S;
    float *x = malloc(sizeof(float) * (size_t)(rows * 4 + 1)), *y = malloc(sizeof(float) * (size_t)(rows * 4 + 1));
    float *s = malloc(sizeof(float) * (size_t)(rows + 1)), *ry = malloc(sizeof(float) * (size_t)(rows * 4 + 1));
    float *rs = malloc(sizeof(float) * (size_t)(rows + 1));
    for (int64_t i = 0; i < rows * 4; i++) x[i] = rt_rand(&seed);
    int64_t xs[3] = {B, S, 4}, ys[3] = {B, S, 4}, ss[2] = {B, S};
    DLTensor in = f32_tensor(x, 3, xs);
    rt_toy_ref(x, rows, rt_w, rt_b, ry, rs);
    if (alloc) {
        DLTensor *outs[2];
        cr_assert_eq(ltc_model_run_alloc(m, "forward", &in, 1, outs, 2), 0, "%s", ltc_last_error(m)->message);
        cr_assert_eq(outs[0]->ndim, 3);
        cr_assert_eq(outs[0]->shape[1], S);
        cr_assert_eq(outs[1]->ndim, 2);
        memcpy(y, outs[0]->data, sizeof(float) * (size_t)rows * 4);
        memcpy(s, outs[1]->data, sizeof(float) * (size_t)rows);
        ltc_tensor_free(outs[0]);
        ltc_tensor_free(outs[1]);
    } else {
        DLTensor out[2] = {f32_tensor(y, 3, ys), f32_tensor(s, 2, ss)};
        cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), 0, "%s", ltc_last_error(m)->message);
    }
    for (int64_t i = 0; i < rows * 4; i++) cr_assert_float_eq(y[i], ry[i], 1e-6);
    for (int64_t i = 0; i < rows; i++) cr_assert_float_eq(s[i], rs[i], 1e-5);
    free(x); free(y); free(s); free(ry); free(rs);
}

TestSuite(api, .init = setup, .fini = teardown);

Test(api, run_at_two_sequence_lengths) {
    ltc_model *m = open_bound();
    check_run(m, 2, 8, 1, false);
    check_run(m, 3, 129, 2, false);
    check_run(m, 1, 5, 3, true);
    cr_assert_eq(ltc_set_num_threads(m, 3), 0);
    cr_assert_eq(ltc_get_num_threads(m), 3);
    check_run(m, 4, 33, 4, false);
    check_run(m, 3, 1500, 6, false);     /* large enough to use the pool */
    cr_assert_eq(ltc_set_num_threads(m, 1), 0);
    check_run(m, 2, 7, 5, true);
    ltc_model_close(m);
}

Test(api, metadata) {
    ltc_model *m = open_bound();
    cr_assert_str_eq(ltc_runtime_version(), LTC_VERSION);
    cr_assert_str_eq(ltc_model_compiler_version(m), LTC_VERSION);
    cr_assert_eq(ltc_model_abi_version(m), LTC_RUNTIME_ABI);
    cr_assert_str_eq(ltc_model_target_triple(m), "x86_64-pc-linux-gnu");
    cr_assert_str_eq(ltc_model_target_features(m), "+sse2");
    cr_assert_eq(ltc_model_has_embedded_weights(m), 0);
    cr_assert_eq(ltc_model_num_entries(m), 1);
    cr_assert_str_eq(ltc_model_entry_name(m, 0), "forward");
    cr_assert_null(ltc_model_entry_name(m, 1));
    cr_assert_eq(ltc_model_num_symbols(m, "forward"), 2);
    cr_assert_str_eq(ltc_model_symbol_name(m, NULL, 1), "S");
    cr_assert_eq(ltc_model_num_inputs(m, "forward"), 1);
    cr_assert_eq(ltc_model_num_outputs(m, "forward"), 2);
    cr_assert_eq(ltc_model_num_inputs(m, "nope"), -1);
    ltc_tensor_info ti;
    cr_assert_eq(ltc_model_input_info(m, "forward", 0, &ti), 0);
    cr_assert_str_eq(ti.name, "x");
    cr_assert_eq(ti.dtype, LTC_F32);
    cr_assert_eq(ti.ndim, 3);
    cr_assert_eq(ti.dims[0], -1);
    cr_assert_str_eq(ti.dim_names[0], "B");
    cr_assert_str_eq(ti.dim_names[1], "S");
    cr_assert_eq(ti.dims[2], 4);
    cr_assert_null(ti.dim_names[2]);
    cr_assert_eq(ltc_model_output_info(m, NULL, 1, &ti), 0);
    cr_assert_str_eq(ti.name, "s");
    cr_assert_eq(ltc_model_output_info(m, NULL, 2, &ti), -1);
    cr_assert_eq(ltc_model_num_params(m), 2);
    cr_assert_eq(ltc_model_param_info(m, 0, &ti), 0);
    cr_assert_str_eq(ti.name, "layer.w");
    cr_assert_eq(ti.dims[0], 4);
    ltc_model_close(m);
}

Test(api, embedded_weights_bind_at_open) {
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
    FILE *f = fopen(wfile, "rb");
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    RtSoOpts o = rt_so_defaults();
    o.weights = buf; o.wlen = n;
    ltc_error err;
    ltc_model *m = open_toy(&o, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(ltc_model_has_embedded_weights(m), 1);
    check_run(m, 2, 3, 9, false);
    ltc_model_close(m);
    /* corrupt embedded weights: refused at open, naming the problem */
    o.wlen = n - 9;
    m = open_toy(&o, &err);
    cr_assert_null(m);
    cr_assert_eq(err.code, LTC_ERR_WEIGHTS);
    cr_assert(strstr(err.message, "weights in memory") != NULL, "%s", err.message);
}

Test(api, bad_inputs_are_errors) {
    ltc_model *m = open_bound();
    float x[2 * 3 * 4] = {0}, y[2 * 3 * 4], s[6];
    int64_t xs[3] = {2, 3, 4}, ys[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor in = f32_tensor(x, 3, xs);
    DLTensor out[2] = {f32_tensor(y, 3, ys), f32_tensor(s, 2, ss)};
    const ltc_error *e = ltc_last_error(m);

    cr_assert_eq(ltc_model_run(NULL, NULL, &in, 1, out, 2), -1);
    cr_assert_eq(ltc_last_error(NULL)->code, LTC_ERR_ARG);
    cr_assert_eq(ltc_model_run(m, "nope", &in, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_ARG);
    cr_assert_str_eq(e->message, "no entry named 'nope'");
    cr_assert_eq(ltc_model_run(m, NULL, NULL, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_ARG);
    cr_assert_eq(ltc_model_run(m, NULL, &in, 2, out, 2), -1);
    cr_assert_str_eq(e->message, "entry 'forward' takes 1 input, got 2");
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 1), -1);
    cr_assert_str_eq(e->message, "entry 'forward' has 2 outputs, got 1");
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, NULL, 2), -1);

    int64_t bad[3] = {2, 3, 5};
    DLTensor t = f32_tensor(x, 3, bad);
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    cr_assert_str_eq(e->message, "input 'x': expected rank 3 [B,S,4], got [2,3,5]");
    t = f32_tensor(x, 2, xs);
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    t = f32_tensor(x, 3, NULL);
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    t = f32_tensor(x, 99, xs);
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    int64_t neg[3] = {-2, 3, 4};
    t = f32_tensor(x, 3, neg);
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    t = in; t.dtype.bits = 64;
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_DTYPE);
    cr_assert_str_eq(e->message, "input 'x': expected dtype float32, got float64");
    t = in; t.dtype.code = kDLInt;
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_DTYPE);
    t = in; t.device.device_type = kDLCUDA;
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_DEVICE);
    t = in; t.data = NULL;
    cr_assert_eq(ltc_model_run(m, NULL, &t, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_ARG);

    /* outputs of the wrong shape, dtype or layout */
    DLTensor o2[2] = {out[0], out[1]};
    int64_t wrong[3] = {2, 4, 4};
    o2[0].shape = wrong;
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, o2, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    cr_assert_str_eq(e->message, "output 'y': expected shape [2,3,4], got [2,4,4]");
    o2[0] = out[0];
    int64_t strides[3] = {1, 2, 6};
    o2[0].strides = strides;
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, o2, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_LAYOUT);
    o2[0] = out[0];
    o2[1].dtype.code = kDLBfloat; o2[1].dtype.bits = 16;
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, o2, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_DTYPE);
    DLTensor *ao[2] = {(DLTensor *)1, (DLTensor *)1};
    t = f32_tensor(x, 3, bad);
    cr_assert_eq(ltc_model_run_alloc(m, NULL, &t, 1, ao, 2), -1);
    cr_assert_null(ao[0]);
    cr_assert_null(ao[1]);

    /* the model still works after all that */
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), 0, "%s", e->message);
    cr_assert_eq(e->code, LTC_OK);
    ltc_model_close(m);
}

/* ltc_model_output_shapes: the shapes a run would produce (against the
 * toy's y [B,S,4], s [B,S] and what run_alloc really allocates), and the
 * same refusals as a run. */
Test(api, output_shapes_for_input_shapes) {
    ltc_model *m = open_bound();
    const ltc_error *e = ltc_last_error(m);
    int64_t sizes[][2] = {{2, 3}, {1, 1}, {5, 129}, {0, 4}};
    for (int k = 0; k < 4; k++) {
        int64_t xs[3] = {sizes[k][0], sizes[k][1], 4};
        const int64_t *ins[1] = {xs};
        int nd[1] = {3};
        int64_t out[2][LTC_MAX_NDIM];
        memset(out, 0x5a, sizeof out);
        cr_assert_eq(ltc_model_output_shapes(m, "forward", ins, nd, 1, out, 2), 0, "%s", e->message);
        cr_assert_eq(out[0][0], xs[0]); cr_assert_eq(out[0][1], xs[1]); cr_assert_eq(out[0][2], 4);
        cr_assert_eq(out[1][0], xs[0]); cr_assert_eq(out[1][1], xs[1]);
        for (int d = 3; d < LTC_MAX_NDIM; d++) cr_assert_eq(out[0][d], 0);
        for (int d = 2; d < LTC_MAX_NDIM; d++) cr_assert_eq(out[1][d], 0);
        if (xs[0] * xs[1] == 0) continue;
        /* the runtime's own allocation agrees */
        float *x = calloc((size_t)(xs[0] * xs[1] * 4), sizeof(float));
        DLTensor in = f32_tensor(x, 3, xs), *ao[2];
        cr_assert_eq(ltc_model_run_alloc(m, NULL, &in, 1, ao, 2), 0, "%s", e->message);
        for (int i = 0; i < 2; i++)
            for (int d = 0; d < ao[i]->ndim; d++) cr_assert_eq(ao[i]->shape[d], out[i][d]);
        ltc_tensor_free(ao[0]); ltc_tensor_free(ao[1]);
        free(x);
    }
    int64_t bad[3] = {2, 3, 5}, neg[3] = {2, -1, 4}, out[2][LTC_MAX_NDIM];
    const int64_t *ins[1] = {bad};
    int nd[1] = {3};
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    cr_assert_str_eq(e->message, "input 'x': expected rank 3 [B,S,4], got [2,3,5]");
    nd[0] = 2;
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    nd[0] = 99;
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    nd[0] = 3; ins[0] = neg;
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    ins[0] = NULL;
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);
    cr_assert_eq(ltc_model_output_shapes(m, "nope", ins, nd, 1, out, 2), -1);
    cr_assert_str_eq(e->message, "no entry named 'nope'");
    ins[0] = bad;
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 2, out, 2), -1);
    cr_assert_str_eq(e->message, "entry 'forward' takes 1 input, got 2");
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 1), -1);
    cr_assert_str_eq(e->message, "entry 'forward' has 2 outputs, got 1");
    cr_assert_eq(ltc_model_output_shapes(m, NULL, NULL, nd, 1, out, 2), -1);
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, NULL, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_ARG);
    cr_assert_eq(ltc_model_output_shapes(NULL, NULL, ins, nd, 1, out, 2), -1);
    ltc_model_close(m);
    cr_assert_eq(ltc_model_output_shapes(m, NULL, ins, nd, 1, out, 2), -1);   /* closed handle */
}

Test(api, strided_input_is_copied) {
    ltc_model *m = open_bound();
    /* x stored transposed in memory: logical [B=2,S=3,4] from a [4,3,2] block */
    float mem[24], x[24], y[24], s[6], ry[24], rs[6];
    unsigned seed = 3;
    for (int i = 0; i < 24; i++) mem[i] = rt_rand(&seed);
    int64_t shape[3] = {2, 3, 4}, strides[3] = {1, 2, 6};
    for (int b = 0; b < 2; b++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < 4; i++) x[(b * 3 + q) * 4 + i] = mem[b + q * 2 + i * 6];
    DLTensor in = f32_tensor(mem, 3, shape);
    in.strides = strides;
    int64_t ys[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor out[2] = {f32_tensor(y, 3, ys), f32_tensor(s, 2, ss)};
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), 0, "%s", ltc_last_error(m)->message);
    rt_toy_ref(x, 6, rt_w, rt_b, ry, rs);
    for (int i = 0; i < 24; i++) cr_assert_float_eq(y[i], ry[i], 1e-6);
    ltc_model_close(m);
}

Test(api, weights_errors_name_the_tensor) {
    RtSoOpts o = rt_so_defaults();
    ltc_error err;
    ltc_model *m = open_toy(&o, &err);
    cr_assert_not_null(m, "%s", err.message);
    const ltc_error *e = ltc_last_error(m);
    float x[4] = {1, 2, 3, 4}, y[4], s[1];
    int64_t xs[3] = {1, 1, 4}, ys[3] = {1, 1, 4}, ss[2] = {1, 1};
    DLTensor in = f32_tensor(x, 3, xs);
    DLTensor out[2] = {f32_tensor(y, 3, ys), f32_tensor(s, 2, ss)};

    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), -1);
    cr_assert_eq(e->code, LTC_ERR_WEIGHTS);
    cr_assert(strstr(e->message, "not bound") && strstr(e->message, "layer.w"), "%s", e->message);

    char path[300];
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert_eq(e->code, LTC_ERR_WEIGHTS);

    cr_assert_eq(rt_write_weights(path, "layer.weight", 4, ST_F32), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert(strstr(e->message, "missing tensor 'layer.w'"), "%s", e->message);

    cr_assert_eq(rt_write_weights(path, "layer.w", 5, ST_F32), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert(strstr(e->message, "tensor 'layer.w' has shape [5], the model expects [4]"), "%s", e->message);

    cr_assert_eq(rt_write_weights(path, "layer.w", 4, ST_F16), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert(strstr(e->message, "tensor 'layer.w' has dtype F16, the model expects F32"), "%s", e->message);

    /* truncated: every prefix of a good file is refused */
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
    FILE *f = fopen(wfile, "rb");
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t k = 0; k < n; k += 7) {
        f = fopen(path, "wb");
        fwrite(buf, 1, k, f);
        fclose(f);
        cr_assert_eq(ltc_model_bind_weights_file(m, path), -1, "prefix %zu accepted", k);
        cr_assert_eq(e->code, LTC_ERR_WEIGHTS);
        cr_assert_eq(ltc_model_bind_weights_memory(m, buf, k), -1);
    }
    /* garbage */
    f = fopen(path, "wb");
    fputs("this is not a safetensors file at all, just text", f);
    fclose(f);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert(strstr(e->message, path), "%s", e->message);
    cr_assert_eq(ltc_model_bind_weights_memory(m, NULL, 3), -1);

    /* a good binding, then a bad one: the good one stays */
    cr_assert_eq(ltc_model_bind_weights_file(m, wfile), 0, "%s", e->message);
    cr_assert_eq(ltc_model_bind_weights_file(m, path), -1);
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), 0, "%s", e->message);
    float ry[4], rs[1];
    rt_toy_ref(x, 1, rt_w, rt_b, ry, rs);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(y[i], ry[i], 1e-6);
    /* from memory, misaligned: copied */
    static char mis[4097];
    memcpy(mis + 1, buf, n);
    cr_assert_eq(ltc_model_bind_weights_memory(m, mis + 1, n), 0, "%s", e->message);
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), 0, "%s", e->message);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(y[i], ry[i], 1e-6);
    ltc_model_close(m);
}

static void refused(RtSoOpts o, ltc_status code, const char *needle) {
    ltc_error err;
    ltc_model *m = open_toy(&o, &err);
    cr_assert_null(m);
    cr_assert_eq(err.code, code, "code %d: %s", err.code, err.message);
    cr_assert(strstr(err.message, needle), "'%s' not in '%s'", needle, err.message);
}

Test(api, bad_model_files_are_refused_before_running) {
    RtSoOpts o = rt_so_defaults();
    o.abi = LTC_MODEL_ABI + 1;
    refused(o, LTC_ERR_ABI, "model ABI version 5, this runtime reads version 4: rebuild the model with lispetorchc");
    o.abi = 2;                          /* a model built before the GPU fields */
    refused(o, LTC_ERR_ABI, "model ABI version 2, this runtime reads version 4: rebuild the model");
    o = rt_so_defaults();
    o.magic ^= 1;
    refused(o, LTC_ERR_FORMAT, "bad descriptor magic");
    o = rt_so_defaults();
    o.version = "0.0.9";
    refused(o, LTC_ERR_VERSION, "compiled by lispetorchc 0.0.9");
    o = rt_so_defaults();
    o.triple = "aarch64-unknown-linux-gnu";
    refused(o, LTC_ERR_CPU, "aarch64");
    /* the descriptor names its device (runtime/devices.def) */
    o = rt_so_defaults();
    o.device = "metal";
    refused(o, LTC_ERR_DEVICE, "the model's kernels are for device 'metal', which this runtime does not have (devices: cpu, cuda");
    /* a device the runtime has, whose driver this host lacks: the cause named */
    setenv("LTC_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
    o = rt_so_defaults();
    o.device = "cuda";
    refused(o, LTC_ERR_DEVICE, "CUDA device: cannot load the CUDA driver '/nonexistent/libcuda.so.1'");
    unsetenv("LTC_CUDA_LIB");
    o = rt_so_defaults();
    o.no_descriptor = true;
    refused(o, LTC_ERR_FORMAT, "no symbol 'ltc_model_descriptor'");
    o = rt_so_defaults();
    o.tiny_descriptor = true;
    refused(o, LTC_ERR_FORMAT, "too small to be a model descriptor");

    /* a feature this CPU lacks (the descriptor is faked; avx512er is
     * Xeon Phi only, so the fallback is safe on current machines) */
    const char *missing = rt_cpu_missing_feature();
    char feats[128];
    snprintf(feats, sizeof feats, "+sse2,-avx,+%s,+unknown-tuning-flag", missing ? missing : "avx512er");
    o = rt_so_defaults();
    o.features = feats;
    refused(o, LTC_ERR_CPU, missing ? missing : "avx512er");
    cr_assert_eq(rt_cpu_has("sse2"), 1);
    cr_assert_eq(rt_cpu_has("no-such-feature"), -1);

    ltc_error err;
    cr_assert_null(ltc_model_open(NULL, &err));
    cr_assert_eq(err.code, LTC_ERR_ARG);
    char path[300];
    snprintf(path, sizeof path, "%s/none.so", dir);
    cr_assert_null(ltc_model_open(path, &err));
    cr_assert_eq(err.code, LTC_ERR_IO);
    FILE *f = fopen(path, "w");
    fputs("not an ELF file", f);
    fclose(f);
    cr_assert_null(ltc_model_open(path, &err));
    cr_assert_eq(err.code, LTC_ERR_FORMAT);      /* refused before dlopen (docs/hardening.md) */
    cr_assert(strstr(err.message, "not an ELF file"), "%s", err.message);
    cr_assert_null(ltc_model_open(path, NULL));
    ltc_model_close(NULL);
}

Test(api, kernel_table_must_match_the_plans) {
    Arena a; arena_init(&a);
    Plan *p[2] = {rt_toy_plan(&a), rt_toy_plan(&a)};
    ((Graph *)p[1]->graph)->name = "second";
    RtSoOpts o = rt_so_defaults();
    o.swap_names = true;
    cr_assert_eq(rt_build_so(so, p, 2, &o), 0);
    ltc_error err;
    cr_assert_null(ltc_model_open(so, &err));
    cr_assert_eq(err.code, LTC_ERR_FORMAT);
    cr_assert(strstr(err.message, "kernel table out of order ('k1_relu' where 'k0_pack' is expected)"), "%s", err.message);
    /* the same two entries in order: both run */
    o.swap_names = false;
    cr_assert_eq(rt_build_so(so, p, 2, &o), 0);
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, wfile), 0, "%s", ltc_last_error(m)->message);
    cr_assert_eq(ltc_model_num_params(m), 2, "params are shared by name across entries");
    float x[8] = {1, -2, 3, -4, 5, -6, 7, -8}, y[8], s[2];
    int64_t xs[3] = {1, 2, 4}, ss[2] = {1, 2};
    DLTensor in = f32_tensor(x, 3, xs);
    DLTensor out[2] = {f32_tensor(y, 3, xs), f32_tensor(s, 2, ss)};
    cr_assert_eq(ltc_model_run(m, "second", &in, 1, out, 2), 0, "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
    arena_free(&a);
}

Test(api, corrupt_plan_in_descriptor) {
    /* A descriptor whose plan blob lost its last bytes. */
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    StrBuf blob = {0};
    LtcDiag d = {0};
    cr_assert_eq(plan_serialize(p, 1, &blob, &d), 0);
    char src[300], cmd[800];
    snprintf(src, sizeof src, "%s/bad.c", dir);
    FILE *f = fopen(src, "w");
    fprintf(f, "#include <stdint.h>\n");
    rt_put_bytes(f, "plans", blob.s, blob.len - 3);
    fprintf(f, "struct D { uint64_t magic; uint32_t abi, nk; const char *ver, *triple, *cpu, *feat;\n"
               "  const unsigned char *plans; uint64_t plans_len; const void *k, *kn, *w; uint64_t wlen; const char *dev;\n"
               "  const void *code; uint64_t code_len; const void *gk; };\n"
               "const struct D ltc_model_descriptor = {%lluULL, %d, 4, \"%s\", \"x86_64\", \"\", \"\", plans, %zu, 0, 0, 0, 0, \"cpu\", 0, 0, 0};\n",
            (unsigned long long)LTC_MODEL_MAGIC, LTC_MODEL_ABI, LTC_VERSION, blob.len - 3);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -w -o '%s' '%s'", so, src);
    cr_assert_eq(system(cmd), 0);
    char why[300];          /* sealed as the compiler would: the blob itself is bad */
    cr_assert_eq(seal_write(so, seal_desc_digest((const uint8_t *)blob.s, blob.len - 3, LTC_VERSION, "x86_64", "", "", "cpu", NULL, 0),
                              why, sizeof why), 0, "%s", why);
    ltc_error err;
    cr_assert_null(ltc_model_open(so, &err));
    cr_assert_eq(err.code, LTC_ERR_FORMAT);
    cr_assert(strstr(err.message, "plan blob: corrupt"), "%s", err.message);
    sb_free(&blob);
    arena_free(&a);
}

/* Several host threads share one model (runs are serialised inside), and
 * the same file opened twice gives two independent models. */
typedef struct Job { ltc_model *m; int id; int failures; } Job;

static void *job_main(void *arg) {
    Job *j = arg;
    unsigned seed = 100u + (unsigned)j->id;
    for (int it = 0; it < 25; it++) {
        int64_t B = 1 + (j->id + it) % 3, S = 1 + (it * 7 + j->id) % 19, rows = B * S;
        float x[3 * 19 * 4], y[3 * 19 * 4], s[3 * 19], ry[3 * 19 * 4], rs[3 * 19];
        for (int64_t i = 0; i < rows * 4; i++) x[i] = rt_rand(&seed);
        int64_t xs[3] = {B, S, 4}, ys[3] = {B, S, 4}, ss[2] = {B, S};
        DLTensor in = f32_tensor(x, 3, xs);
        DLTensor out[2] = {f32_tensor(y, 3, ys), f32_tensor(s, 2, ss)};
        if (ltc_model_run(j->m, "forward", &in, 1, out, 2) != 0) { j->failures++; continue; }
        rt_toy_ref(x, rows, rt_w, rt_b, ry, rs);
        for (int64_t i = 0; i < rows * 4; i++)
            if (!(fabsf(y[i] - ry[i]) <= 1e-6f)) { j->failures++; break; }
    }
    return NULL;
}

Test(api, threads_share_a_model_and_files_open_twice) {
    ltc_model *m = open_bound();
    ltc_error err;
    ltc_model *m2 = ltc_model_open(so, &err);
    cr_assert_not_null(m2, "%s", err.message);
    cr_assert_eq(ltc_model_bind_weights_file(m2, wfile), 0);
    cr_assert_eq(ltc_set_num_threads(m, 2), 0);
    pthread_t th[4];
    Job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (Job){i < 3 ? m : m2, i, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, job_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(jobs[i].failures, 0, "thread %d", i);
    }
    ltc_model_close(m);
    check_run(m2, 2, 5, 77, false);     /* the other one is unaffected */
    ltc_model_close(m2);
}

/* The DLPack structs must have the upstream v0.8 layout (x86-64). */
Test(dlpack, abi_layout) {
    cr_assert_eq(sizeof(DLDevice), 8);
    cr_assert_eq(sizeof(DLDataType), 4);
    cr_assert_eq(sizeof(DLTensor), 48);
    cr_assert_eq(offsetof(DLTensor, device), 8);
    cr_assert_eq(offsetof(DLTensor, ndim), 16);
    cr_assert_eq(offsetof(DLTensor, dtype), 20);
    cr_assert_eq(offsetof(DLTensor, shape), 24);
    cr_assert_eq(offsetof(DLTensor, strides), 32);
    cr_assert_eq(offsetof(DLTensor, byte_offset), 40);
    cr_assert_eq(offsetof(DLManagedTensor, manager_ctx), 48);
    cr_assert_eq(kDLCPU, 1);
    cr_assert_eq(kDLCUDA, 2);
    cr_assert_eq(kDLBfloat, 4);
    cr_assert_eq(kDLBool, 6);
    DLDataType t = ltc_dtype_to_dl(LTC_BF16);
    cr_assert(t.code == kDLBfloat && t.bits == 16 && t.lanes == 1);
    t = ltc_dtype_to_dl(LTC_I64);
    cr_assert(t.code == kDLInt && t.bits == 64);
    int64_t shape[2] = {3, 5};
    DLTensor *x = ltc_tensor_alloc(LTC_F32, 2, shape);
    cr_assert_not_null(x);
    cr_assert_eq((uintptr_t)x->data % 64, 0);
    cr_assert_eq(x->shape[1], 5);
    cr_assert_null(x->strides);
    ltc_tensor_free(x);
    int64_t neg[1] = {-1};
    cr_assert_null(ltc_tensor_alloc(LTC_F32, 1, neg));
    cr_assert_null(ltc_tensor_alloc(LTC_F32, 9, shape));
    cr_assert_null(ltc_tensor_alloc((ltc_dtype)42, 1, shape));
    ltc_tensor_free(NULL);
}
