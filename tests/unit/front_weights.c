/* front_weights.c: LispE-level weights (frontend/torch_weights.c) checked
 * against files written and read here with the safetensors module alone. */
#include "front_torch_util.h"
#include "support/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(weights, .init = setup, .fini = teardown);

static const char *tmp_path(const char *name) {
    return arena_printf(&A, "/tmp/ltc_front_weights_%d_%s", (int)getpid(), name);
}

/* A linear 3 -> 2 checkpoint with known values, under `prefix`. */
static const char *write_linear(const char *file, const char *prefix, int out) {
    static float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f};
    StTensor t[2] = {
        {arena_printf(&A, "%sweight", prefix), ST_F32, 2, {out, 3}, w, sizeof(float) * 3 * (size_t)out},
        {arena_printf(&A, "%sbias", prefix), ST_F32, 1, {2}, b, sizeof b},
    };
    const char *path = tmp_path(file);
    char err[256];
    cr_assert_eq(st_write(path, t, 2, NULL, 0, err, sizeof err), 0, "%s", err);
    return path;
}

Test(weights, load_model_replaces_values) {
    const char *p = write_linear("lin.st", "fc.", 2);
    EVAL(arena_printf(&A, "(setq m {\"fc\": (torch_linear 3 2)}) (torch_load_model m \"%s\")"
                          "(setq w (@ m \"fc\" \"weight\")) (setq b (@ m \"fc\" \"bias\"))"
                          "(setq y (torch_linear_forward (@ m \"fc\") (floats 1 1 1)))", p));
    const float want_w[6] = {1, 2, 3, 4, 5, 6}, want_b[2] = {-1, 0.5f};
    assert_close(fdata("w"), want_w, 6, 0);
    assert_close(fdata("b"), want_b, 2, 0);
    const float want_y[2] = {1 + 2 + 3 - 1, 4 + 5 + 6 + 0.5f};   /* x W^T + b by hand */
    assert_close(fdata("y"), want_y, 2, 1e-6);
    unlink(p);
}

Test(weights, save_model_writes_values_by_path) {
    const char *p = tmp_path("save.st");
    EVAL(arena_printf(&A, "(setq m {\"enc\": (list (torch_layer_norm 4))}) (torch_save_model m \"%s\")", p));
    StFile f;
    char err[256];
    cr_assert_eq(st_open(p, &f, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.n, 2);
    const StTensor *w = st_find(&f, "enc.0.weight"), *b = st_find(&f, "enc.0.bias");
    cr_assert(w && b);
    const float ones[4] = {1, 1, 1, 1}, zeros[4] = {0};
    assert_close(w->data, ones, 4, 0);
    assert_close(b->data, zeros, 4, 0);
    st_close(&f);
    unlink(p);
}

/* A session that must not write files (the fuzz target; a host running
 * untrusted scripts) refuses torch_save_* and writes nothing. */
Test(weights, no_file_writes_refuses_saving) {
    const char *p = tmp_path("never.st");
    unlink(p);
    I.no_file_writes = true;
    cr_assert_neq(eval(arena_printf(&A, "(setq m {\"enc\": (list (torch_layer_norm 4))}) (torch_save_model m \"%s\")", p)), 0);
    cr_assert(strstr(I.diag.msg, "this session does not write files"), "%s", I.diag.msg);
    cr_assert_neq(access(p, F_OK), 0, "the file was written");
    I.no_file_writes = false;
}

Test(weights, round_trip_through_state_dict) {
    const char *p = tmp_path("rt.st");
    EVAL(arena_printf(&A, "(setq a (torch_linear 3 2)) (torch_save_model a \"%s\")"
                          "(setq b (torch_linear 3 2)) (torch_load_model b \"%s\")"
                          "(setq c (torch_linear 3 2)) (torch_load_state_dict c (torch_state_dict a))"
                          "(setq wa (@ a \"weight\")) (setq wb (@ b \"weight\")) (setq wc (@ c \"weight\"))", p, p));
    assert_close(fdata("wb"), fdata("wa"), 6, 0);
    assert_close(fdata("wc"), fdata("wa"), 6, 0);
    unlink(p);
}

Test(weights, strict_errors_name_the_tensor) {
    const char *p = write_linear("bad.st", "", 2);
    EVAL_FAILS(arena_printf(&A, "(torch_load_model {\"fc\": (torch_linear 3 2)} \"%s\")", p),
               "has tensor 'weight', which the model does not have");
    EVAL_FAILS(arena_printf(&A, "(torch_load_model (torch_linear 4 2) \"%s\")", p),
               "tensor 'weight' is f32[2,3], the model expects f32[2,4]");
    EVAL_FAILS(arena_printf(&A, "(torch_load_model (torch_layer_norm 2) \"%s\")", p), "tensor 'weight' is f32[2,3]");
    EVAL_FAILS(arena_printf(&A, "(torch_hf_get_weight \"%s\" \"nope\")", p), "has no tensor 'nope'");
    EVAL_FAILS("(torch_load_model (torch_linear 3 2) \"/nonexistent/w.st\")", "weights file '/nonexistent/w.st': cannot open");
    const char *q = write_linear("one.st", "", 2);
    EVAL_FAILS(arena_printf(&A, "(torch_load_state_dict (torch_linear 3 2) {\"weight\": (@ (torch_linear 3 2) \"weight\")})"),
               "the state dict has no tensor 'bias'");
    unlink(p);
    unlink(q);
}

Test(weights, hf_readers) {
    const char *p = write_linear("hf.st", "l.", 2);
    EVAL(arena_printf(&A, "(setq names (torch_hf_list_weights \"%s\")) (setq w (torch_hf_get_weight \"%s\" \"l.weight\"))"
                          "(setq all (torch_load_safetensors \"%s\")) (setq n (size all))", p, p, p));
    Value *names = glob("names");
    cr_assert_eq(names->nitems, 2);
    cr_assert_str_eq(names->items[0]->s, "l.weight");
    cr_assert_str_eq(names->items[1]->s, "l.bias");
    SHAPE(gtensor("w"), 2, 3);
    cr_assert_eq(glob("n")->i, 2);
    unlink(p);
}

/* Renamed fields give HuggingFace names; the module computes the same. */
Test(weights, set_param_names_keeps_forward) {
    EVAL("(setq x (tensor_randn (integers 2 3 8)))"
         "(setq a (torch_flash_attention_create 8 2)) (setq y0 (torch_flash_attention_forward a x x x))"
         "(torch_set_param_names a {\"q_proj\":\"self.query\" \"k_proj\":\"self.key\" \"v_proj\":\"self.value\" \"out_proj\":\"output.dense\"})"
         "(setq y1 (torch_flash_attention_forward a x x x))"
         "(setq names (keys@ (torch_state_dict {\"attention\": a})))");
    assert_close(fdata("y1"), fdata("y0"), 48, 0);
    Value *names = glob("names");
    cr_assert_eq(names->nitems, 8);
    cr_assert_str_eq(names->items[0]->s, "attention.self.query.weight");
    cr_assert_str_eq(names->items[7]->s, "attention.output.dense.bias");
    EVAL_FAILS("(torch_set_param_names a {\"nope\":\"x\"})", "the module has no field 'nope'");
    EVAL_FAILS("(torch_set_param_names a {\"q_proj\":\"self.key\"})", "already has a field 'self.key'");
}

/* Tracing names the parameters through the renamed fields. */
Test(weights, trace_uses_renamed_fields) {
    EVAL("(setq attention (torch_flash_attention_create 8 2))"
         "(torch_set_param_names attention {\"q_proj\":\"self.query\"})"
         "(defun f (x) (torch_flash_attention_forward attention x x x))"
         "(f (tensor_randn (integers 2 3 8)))");
    cr_assert(I.ncalls >= 1);
    Graph *g;
    TraceOptions o = {0};
    cr_assert_eq(trace_entry(&I, &I.calls[I.ncalls - 1], "f", &o, &g), 0, "%s", I.diag.msg);
    bool found = false;
    for (int i = 0; i < g->nparams; i++) found |= g->params[i]->name && !strcmp(g->params[i]->name, "attention.self.query.weight");
    cr_assert(found, "no parameter attention.self.query.weight");
}

/* 80 000 tensors: the duplicate-name check and st_find are hashed, not a
 * scan per name (12 s before); a repeated name is still refused. */
Test(weights, eighty_thousand_tensors_write_and_read_fast, .timeout = 10) {
    enum { N = 80000 };
    StTensor *ts = calloc(N, sizeof *ts);
    char (*names)[16] = calloc(N, sizeof *names);
    float one = 1;
    cr_assert(ts && names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        ts[i] = (StTensor){.name = names[i], .dtype = ST_F32, .rank = 0, .data = &one, .nbytes = 4};
    }
    char path[] = "/tmp/ltc-st80k-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char err[256];
    cr_assert_eq(st_write(path, ts, N, NULL, 0, err, sizeof err), 0, "%s", err);
    StFile f;
    cr_assert_eq(st_open(path, &f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f.n, N);
    cr_expect(st_find(&f, "t79999") != NULL && st_find(&f, "t80000") == NULL);
    st_close(&f);
    ts[N - 1].name = "t5";
    cr_expect_neq(st_write(path, ts, N, NULL, 0, err, sizeof err), 0);
    cr_expect(strstr(err, "appears twice") != NULL, "%s", err);
    unlink(path);
    free(ts);
    free(names);
}
