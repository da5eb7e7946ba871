/* front_trace.c: tracing user functions into graphs: inputs with symbolic
 * dims, parameter names from script paths, and ir_run of the traced graph
 * against the eager result at the example size and at other sizes. */
#include "front_torch_util.h"

TestSuite(trace, .init = setup, .fini = teardown);

static EntryCall *find_call(const char *fname) {
    for (int i = 0; i < I.ncalls; i++)
        if (I.calls[i].fn->name && !strcmp(I.calls[i].fn->name, fname)) return &I.calls[i];
    cr_assert_fail("no recorded call of %s", fname);
    return NULL;
}

static Graph *trace(const char *fname, bool static_shapes) {
    TraceOptions o = {.static_shapes = static_shapes};
    Graph *g = NULL;
    cr_assert_eq(trace_entry(&I, find_call(fname), fname, &o, &g), 0, "trace: %s", I.diag.msg);
    cr_assert_not_null(g);
    return g;
}

static Node *param(Graph *g, const char *name) {
    for (int i = 0; i < g->nparams; i++)
        if (!strcmp(g->params[i]->name, name)) return g->params[i];
    StrBuf b = {0};
    for (int i = 0; i < g->nparams; i++) sb_printf(&b, " %s", g->params[i]->name);
    cr_assert_fail("no param %s; params:%s", name, b.s ? b.s : "");
    return NULL;
}

static void check_sym_shape(Graph *g, const Shape *s, const char *want) {
    char buf[128];
    shape_str(g, s, buf, sizeof buf);
    cr_assert_str_eq(buf, want);
}

/* Run g on the eager example tensors `ins` (global names); returns output 0. */
static const float *run(Graph *g, const char **ins, int nin, int64_t out_shape[LTC_MAX_RANK]) {
    void *in[8], *out[8];
    int64_t in_shapes[8][LTC_MAX_RANK], out_shapes[8][LTC_MAX_RANK];
    cr_assert_eq(nin, g->ninputs);
    for (int i = 0; i < nin; i++) {
        Node *t = gtensor(ins[i]);
        in[i] = (void *)force(t);
        for (int d = 0; d < t->shape.rank; d++) in_shapes[i][d] = t->shape.d[d].k;
    }
    RunArgs ra = {in, in_shapes, NULL, out, out_shapes, 0};
    LtcDiag d;
    memset(&d, 0, sizeof d);
    cr_assert_eq(ir_run(g, &ra, &A, &d), 0, "ir_run: %s", d.msg);
    if (out_shape) memcpy(out_shape, out_shapes[0], sizeof out_shapes[0]);
    return out[0];
}

static const char *SEED_LAYER =
    "(defun create_transformer_layer (embed_dim num_heads ffn_dim)\n"
    "  (dictionary\n"
    "    'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)\n"
    "    'norm1 (torch_layer_norm_create embed_dim)\n"
    "    'norm2 (torch_layer_norm_create embed_dim)\n"
    "    'ffn1 (torch_linear_create embed_dim ffn_dim)\n"
    "    'ffn2 (torch_linear_create ffn_dim embed_dim)))\n"
    "(defun transformer_forward (layer x)\n"
    "  (block\n"
    "    (setq attn_out (torch_flash_attention_forward (@ layer 'attention) x x x))\n"
    "    (setq x1 (torch_layer_norm_forward (@ layer 'norm1) (torch_add x attn_out)))\n"
    "    (setq ffn_out (torch_linear_forward (@ layer 'ffn2)\n"
    "        (torch_relu (torch_linear_forward (@ layer 'ffn1) x1))))\n"
    "    (setq output (torch_layer_norm_forward (@ layer 'norm2) (torch_add x1 ffn_out)))\n"
    "    output))\n"
    "(setq layer (create_transformer_layer 16 4 32))\n"
    "(setq x (torch_rand (integers 2 5 16)))\n"
    "(setq y (transformer_forward layer x))\n";

Test(trace, seed_transformer_layer) {
    EVAL(SEED_LAYER);
    Graph *g = trace("transformer_forward", false);
    cr_assert_eq(g->ninputs, 1);
    cr_assert_str_eq(g->inputs[0]->name, "x");
    check_sym_shape(g, &g->inputs[0]->shape, "[B,S,16]");
    cr_assert_eq(g->nsyms, 2);
    cr_assert_eq(g->noutputs, 1);
    check_sym_shape(g, &g->outputs[0]->shape, "[B,S,16]");
    cr_assert_eq(g->nparams, 16);
    const char *names[] = {"layer.attention.q_proj.weight", "layer.attention.q_proj.bias",
                           "layer.attention.k_proj.weight", "layer.attention.v_proj.bias",
                           "layer.attention.out_proj.weight", "layer.norm1.weight", "layer.norm1.bias",
                           "layer.norm2.bias", "layer.ffn1.weight", "layer.ffn1.bias", "layer.ffn2.weight",
                           "layer.ffn2.bias"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) param(g, names[i]);
    SHAPE(param(g, "layer.ffn1.weight"), 32, 16);

    /* the traced graph at the example size gives exactly the eager values */
    int64_t os[LTC_MAX_RANK];
    const char *ins[] = {"x"};
    const float *out = run(g, ins, 1, os);
    cr_assert(os[0] == 2 && os[1] == 5 && os[2] == 16);
    cr_assert_eq(memcmp(out, fdata("y"), 2 * 5 * 16 * sizeof(float)), 0);

    /* ...and runs at another sequence length and batch */
    EVAL("(setq x2 (torch_rand (integers 3 7 16))) (setq y2 (transformer_forward layer x2))");
    const char *ins2[] = {"x2"};
    out = run(g, ins2, 1, os);
    cr_assert(os[0] == 3 && os[1] == 7 && os[2] == 16);
    assert_close(out, fdata("y2"), 3 * 7 * 16, 1e-6);
}

Test(trace, static_shapes) {
    EVAL(SEED_LAYER);
    Graph *g = trace("transformer_forward", true);
    check_sym_shape(g, &g->inputs[0]->shape, "[2,5,16]");
    cr_assert_eq(g->nsyms, 0);
}

Test(trace, hand_written_attention_with_symbolic_sizes) {
    EVAL("(setq wq (torch_linear 8 8))\n"
         "(defun attn (x)\n"
         "  (setq sz (tensor_size x))\n"
         "  (setq B (@ sz 0)) (setq S (@ sz 1))\n"
         "  (setq q (tensor_transpose (tensor_reshape (torch_linear_forward wq x) (integers B S 2 4)) 1 2))\n"
         "  (setq w (tensor_softmax (tensor_div_scalar (tensor_matmul q (tensor_transpose q -2 -1)) 2.0) -1))\n"
         "  (setq o (tensor_reshape (tensor_transpose (tensor_matmul w q) 1 2) (integers (* B S) 8)))\n"
         "  (tensor_reshape o (integers B S 8)))\n"
         "(setq x (tensor_randn (integers 3 6 8)))\n"
         "(setq y (attn x))\n"
         "(setq x2 (tensor_randn (integers 2 9 8)))\n"
         "(setq y2 (attn x2))\n");
    Graph *g = trace("attn", false);
    check_sym_shape(g, &g->outputs[0]->shape, "[B,S,8]");
    param(g, "wq.weight");
    param(g, "wq.bias");
    const char *ins[] = {"x"}, *ins2[] = {"x2"};
    cr_assert_eq(memcmp(run(g, ins, 1, NULL), fdata("y"), 3 * 6 * 8 * sizeof(float)), 0);
    assert_close(run(g, ins2, 1, NULL), fdata("y2"), 2 * 9 * 8, 1e-6);
}

Test(trace, decoder_stack_loop_and_masks) {
    EVAL("(setq model (dictionary \"layers\" (list (torch_linear 8 8) (torch_linear 8 8) (torch_linear 8 8))))\n"
         "(defun fwd (m x mask)\n"
         "  (loop l (@ m \"layers\") (setq x (tensor_relu (torch_linear_forward l x))))\n"
         "  (list x (tensor_add x (tensor_sum_dim mask -1 true))))\n"
         "(setq x (tensor_randn (integers 2 5 8)))\n"
         "(setq mask (tensor_ones (integers 5 5)))\n"
         "(setq r (fwd model x mask))\n");
    Graph *g = trace("fwd", false);
    cr_assert_eq(g->ninputs, 2);
    check_sym_shape(g, &g->inputs[1]->shape, "[S,S]");
    cr_assert_eq(g->noutputs, 2);
    param(g, "model.layers.0.weight");
    param(g, "model.layers.2.bias");
    cr_assert_eq(g->nparams, 6);
}

Test(trace, square_mask_rank4) {
    EVAL("(defun f (x mask) (tensor_add (tensor_matmul x (tensor_transpose x -1 -2)) mask))\n"
         "(setq x (tensor_randn (integers 2 4 6 5)))\n"
         "(setq mask (tensor_zeros (integers 2 1 6 6)))\n"
         "(setq y (f x mask))\n");
    Graph *g = trace("f", false);
    check_sym_shape(g, &g->inputs[0]->shape, "[B,4,S,5]");
    check_sym_shape(g, &g->inputs[1]->shape, "[B,1,S,S]");
}

Test(trace, errors) {
    EVAL("(defun bad (x) (tensor_sum x) x)\n"
         "(defun none (x) 1)\n"
         "(setq x (tensor_ones (integers 2 3)))\n"
         "(bad x) (none x)\n");
    Graph *g = NULL;
    TraceOptions o = {false};
    cr_assert_neq(trace_entry(&I, find_call("bad"), "bad", &o, &g), 0);
    cr_assert(strstr(I.diag.msg, "data-dependent") != NULL, "%s", I.diag.msg);
    cr_assert_null(I.trace);
    cr_assert_neq(trace_entry(&I, find_call("none"), "none", &o, &g), 0);
    cr_assert(strstr(I.diag.msg, "returns no tensor") != NULL, "%s", I.diag.msg);
}

Test(trace, llama_block) {
    EVAL("(setq blk (dictionary \"norm\" (torch_rms_norm 16) \"q\" (torch_linear 16 16 false)\n"
         "  \"k\" (torch_linear 16 16 false) \"v\" (torch_linear 16 16 false) \"o\" (torch_linear 16 16 false)\n"
         "  \"gate\" (torch_linear 16 32 false) \"up\" (torch_linear 16 32 false)\n"
         "  \"down\" (torch_linear 32 16 false) \"norm2\" (torch_rms_norm 16)))\n"
         "(setq rope (torch_rotary_embedding 8 64))\n"
         "(defun heads (tt B S) (tensor_transpose (tensor_reshape tt (integers B S 2 8)) 1 2))\n"
         "(defun llama (blk x)\n"
         "  (setq sz (tensor_size x)) (setq B (@ sz 0)) (setq S (@ sz 1))\n"
         "  (setq h (torch_rms_norm_forward (@ blk \"norm\") x))\n"
         "  (setq cs (torch_rotary_forward rope S))\n"
         "  (setq c (car cs)) (setq s (car (cdr cs)))\n"
         "  (setq q (torch_apply_rotary_pos_emb (heads (torch_linear_forward (@ blk \"q\") h) B S) c s))\n"
         "  (setq k (torch_apply_rotary_pos_emb (heads (torch_linear_forward (@ blk \"k\") h) B S) c s))\n"
         "  (setq v (heads (torch_linear_forward (@ blk \"v\") h) B S))\n"
         "  (setq a (torch_scaled_dot_product_attention q k v nil 0.0 true nil))\n"
         "  (setq a (tensor_reshape (tensor_transpose a 1 2) (integers B S 16)))\n"
         "  (setq x (tensor_add x (torch_linear_forward (@ blk \"o\") a)))\n"
         "  (setq h (torch_rms_norm_forward (@ blk \"norm2\") x))\n"
         "  (tensor_add x (torch_linear_forward (@ blk \"down\")\n"
         "     (tensor_mul (tensor_silu (torch_linear_forward (@ blk \"gate\") h))\n"
         "                 (torch_linear_forward (@ blk \"up\") h)))))\n"
         "(setq x (tensor_randn (integers 2 5 16)))\n"
         "(setq y (llama blk x))\n"
         "(setq x2 (tensor_randn (integers 1 11 16)))\n"
         "(setq y2 (llama blk x2))\n");
    Graph *g = trace("llama", false);
    param(g, "blk.gate.weight");
    param(g, "rope.cos_cached");            /* sliced [:S]: a SLICE with a symbolic end */
    param(g, "rope.sin_cached");
    cr_assert_eq(g->nparams, 11);
    const char *ins[] = {"x"}, *ins2[] = {"x2"};
    cr_assert_eq(memcmp(run(g, ins, 1, NULL), fdata("y"), 2 * 5 * 16 * sizeof(float)), 0);
    assert_close(run(g, ins2, 1, NULL), fdata("y2"), 11 * 16, 1e-6);
}

Test(trace, positional_encoding_symbolic_length) {
    EVAL("(setq pe (torch_positional_encoding 8 50))\n"
         "(setq pe7 (torch_positional_encoding 7 50))\n"
         "(setq blk (torch_transformer_block 8 2 16))\n"
         "(defun enc (x) (torch_transformer_forward blk (torch_positional_forward pe x)))\n"
         "(defun odd (x) (torch_positional_forward pe7 x))\n"
         "(setq x (tensor_randn (integers 6 2 8)))\n"
         "(setq y (enc x))\n"
         "(setq x2 (tensor_randn (integers 9 3 8)))\n"
         "(setq y2 (enc x2))\n"
         "(setq z (tensor_randn (integers 5 3 7)))\n"
         "(setq zo (odd z))\n"
         "(setq z2 (tensor_randn (integers 11 2 7)))\n"
         "(setq zo2 (odd z2))\n");
    Graph *g = trace("enc", false);
    check_sym_shape(g, &g->outputs[0]->shape, "[B,S,8]");
    param(g, "blk.attention.in_proj_weight");
    param(g, "blk.attention.out_proj.bias");
    param(g, "blk.norm2.weight");
    param(g, "pe.pe");
    const char *ins[] = {"x"}, *ins2[] = {"x2"};
    cr_assert_eq(memcmp(run(g, ins, 1, NULL), fdata("y"), 6 * 2 * 8 * sizeof(float)), 0);
    assert_close(run(g, ins2, 1, NULL), fdata("y2"), 9 * 3 * 8, 1e-6);
    g = trace("odd", false);
    const char *zi[] = {"z"}, *zi2[] = {"z2"};
    cr_assert_eq(memcmp(run(g, zi, 1, NULL), fdata("zo"), 5 * 3 * 7 * sizeof(float)), 0);
    cr_assert_eq(memcmp(run(g, zi2, 1, NULL), fdata("zo2"), 11 * 2 * 7 * sizeof(float)), 0);
    /* past max_len: a run-time error, not a crash */
    EVAL("(setq big (tensor_randn (integers 60 1 7)))");
    const char *bi[] = {"big"};
    void *in[1] = {(void *)force(gtensor("big"))}, *out[1];
    int64_t in_shapes[1][LTC_MAX_RANK] = {{60, 1, 7}}, out_shapes[1][LTC_MAX_RANK];
    RunArgs ra = {in, in_shapes, NULL, out, out_shapes, 0};
    LtcDiag d;
    memset(&d, 0, sizeof d);
    (void)bi;
    cr_assert_neq(ir_run(g, &ra, &A, &d), 0);
    cr_assert(strstr(d.msg, "out of range") != NULL, "%s", d.msg);
}

Test(trace, symbolic_slices_of_constant_dims) {
    EVAL("(setq tab (tensor_randn (integers 1 20 4)))\n"
         "(defun f (x) (setq S (@ (tensor_size x) 1))\n"
         "  (tensor_add x (tensor_slice tab 1 0 S)))\n"
         "(setq x (tensor_randn (integers 3 6 4)))\n"
         "(setq y (f x))\n"
         "(setq x2 (tensor_randn (integers 3 13 4)))\n"
         "(setq y2 (f x2))\n");
    Graph *g = trace("f", false);
    param(g, "tab");
    /* one SLICE of the constant axis ending at S, no gather (arange +
     * embedding, which backends do not lower) */
    int nslice = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        cr_assert(n->op != OP_ARANGE && n->op != OP_EMBEDDING, "%s", op_info[n->op].name);
        if (n->op != OP_SLICE) continue;
        nslice++;
        cr_assert_eq(n->a.axis, 1);
        cr_assert_eq(n->a.start.k, 0);
        cr_assert(n->a.end.sym && n->a.end.k == 1);
        cr_assert(dim_eq(n->shape.d[1], n->a.end));
    }
    cr_assert_eq(nslice, 1);
    const char *ins[] = {"x"}, *ins2[] = {"x2"};
    cr_assert_eq(memcmp(run(g, ins, 1, NULL), fdata("y"), 3 * 6 * 4 * sizeof(float)), 0);
    cr_assert_eq(memcmp(run(g, ins2, 1, NULL), fdata("y2"), 3 * 13 * 4 * sizeof(float)), 0);
    /* past the table: the interpreter's run-time check, not a crash */
    EVAL("(setq big (tensor_randn (integers 1 21 4)))");
    void *in[1] = {(void *)force(gtensor("big"))}, *out[1];
    int64_t in_shapes[1][LTC_MAX_RANK] = {{1, 21, 4}}, out_shapes[1][LTC_MAX_RANK];
    RunArgs ra = {in, in_shapes, NULL, out, out_shapes, 0};
    LtcDiag d;
    memset(&d, 0, sizeof d);
    cr_assert_neq(ir_run(g, &ra, &A, &d), 0);
    cr_assert(strstr(d.msg, "slice") && strstr(d.msg, "out of range for size 20"), "%s", d.msg);
}

Test(trace, walk_tensors) {
    EVAL("(setq a (torch_linear 2 3))\n"
         "(setq b (list (tensor_ones (integers 2)) a))\n");
    struct { int n; int inmod; char paths[8][64]; } ctx = {0};
    void fn_(void *c, const char *path, Node *t, bool in_module);
    interp_walk_tensors(&I, fn_, &ctx);
    cr_assert_eq(ctx.n, 3);
    cr_assert_str_eq(ctx.paths[0], "a.weight");    /* breadth first, globals in order */
    cr_assert_str_eq(ctx.paths[1], "a.bias");
    cr_assert_str_eq(ctx.paths[2], "b.0");
    cr_assert_eq(ctx.inmod, 2);
}

void fn_(void *c, const char *path, Node *t, bool in_module) {
    struct { int n; int inmod; char paths[8][64]; } *ctx = c;
    if (ctx->n < 8) snprintf(ctx->paths[ctx->n], 64, "%s", path);
    ctx->n++;
    ctx->inmod += in_module;
}

Test(trace, symbol_names_for_distinct_sizes) {
    EVAL("(defun f (x y) (list (tensor_relu x) (tensor_relu y)))\n"
         "(setq x (tensor_randn (integers 2 5 8)))\n"
         "(setq y (tensor_randn (integers 3 7 8)))\n"
         "(setq r (f x y))\n");
    Graph *g = trace("f", false);
    check_sym_shape(g, &g->inputs[0]->shape, "[B,S,8]");
    check_sym_shape(g, &g->inputs[1]->shape, "[B2,S2,8]");
    cr_assert_eq(g->noutputs, 2);
    /* tensor_size of a symbolic dim is a symbolic integer with its example */
    EVAL("(defun g2 (x) (setq sz (tensor_size x)) (setg n (@ sz 1)) (setg bs (* (@ sz 0) (@ sz 1))) x)\n"
         "(g2 x)\n");
    TraceOptions o = {false};
    Graph *h = NULL;
    cr_assert_eq(trace_entry(&I, find_call("g2"), "g2", &o, &h), 0, "%s", I.diag.msg);
    Value *n = glob("n"), *bs = glob("bs");
    cr_assert_eq(n->kind, V_INT);
    cr_assert_eq(n->i, 5);
    cr_assert_neq(n->sym.sym, 0u);
    cr_assert_eq(bs->i, 10);
    cr_assert_eq(__builtin_popcount(bs->sym.sym), 2);
}

Test(trace, in_place_masked_fill) {
    EVAL("(setq t (tensor_ones (integers 3)))\n"
         "(setq u t)\n"
         "(tensor_masked_fill_ t (tensor_create (integers 0 1 0)) 5)\n");
    const float *p = fdata("u");
    cr_assert(p[0] == 1 && p[1] == 5 && p[2] == 1);
}

/* Every recorded entry call of the shipped examples traces, and ir_run of
 * its graph on the example inputs equals calling the function eagerly. */
static void check_example(const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", LTC_SOURCE_DIR, file);
    SrcFile *f = arena_alloc(&A, sizeof *f);
    LtcDiag d;
    memset(&d, 0, sizeof d);
    if (read_file(&A, path, f, &d) != 0) cr_skip_test("no example %s", file);
    cr_assert_eq(lisp_eval_file(&I, f), 0, "%s: %s", file, I.diag.msg);
    int ncalls = I.ncalls < 6 ? I.ncalls : 6;
    EntryCall calls[6];
    memcpy(calls, I.calls, sizeof(EntryCall) * (size_t)ncalls);
    cr_assert_gt(ncalls, 0, "%s records no entry call", file);
    for (int c = 0; c < ncalls; c++) {
        Graph *g = NULL;
        TraceOptions o = {false};
        cr_assert_eq(trace_entry(&I, &calls[c], NULL, &o, &g), 0, "%s: trace: %s", file, I.diag.msg);
        Value fv;
        memset(&fv, 0, sizeof fv);
        fv.kind = V_FUNC;
        fv.fn = calls[c].fn;
        Value *res = NULL;
        cr_assert_eq(lisp_call(&I, &fv, calls[c].args, calls[c].nargs, &res), 0, "%s", I.diag.msg);
        Node *want[8];
        int nw = 0;
        if (res->kind == V_TENSOR) want[nw++] = res->t;
        else for (int i = 0; i < res->nitems && nw < 8; i++)
            if (res->items[i]->kind == V_TENSOR) want[nw++] = res->items[i]->t;
        cr_assert_eq(nw, g->noutputs);
        void *in[8], *out[8];
        int64_t in_shapes[8][LTC_MAX_RANK], out_shapes[8][LTC_MAX_RANK];
        for (int k = 0, j = 0; k < calls[c].nargs; k++) {
            if (calls[c].args[k]->kind != V_TENSOR) continue;
            Node *t = calls[c].args[k]->t;
            in[j] = (void *)force(t);
            for (int r = 0; r < t->shape.rank; r++) in_shapes[j][r] = t->shape.d[r].k;
            j++;
        }
        RunArgs ra = {in, in_shapes, NULL, out, out_shapes, 0};
        cr_assert_eq(ir_run(g, &ra, &A, &d), 0, "%s: ir_run: %s", file, d.msg);
        for (int i = 0; i < nw; i++)
            cr_assert_eq(memcmp(out[i], force(want[i]), numel(want[i]) * dtype_storage_size(want[i]->dtype)), 0,
                         "%s: entry %s output %d differs from eager", file, g->name, i);
    }
}

Test(trace, example_gpt_decoder) { check_example("gpt_decoder.lsp"); }
Test(trace, example_llama_block) { check_example("llama_block.lsp"); }
Test(trace, example_flash_transformer) { check_example("flash_transformer_example.lsp"); }
Test(trace, example_flash_demo) { check_example("flash_attention_demo.lsp"); }

/* Batch and sequence with the same example size stay two symbols: a
 * compiled model must accept B != S later. */
Test(trace, equal_batch_and_sequence_sizes) {
    EVAL("(setq lin (torch_linear 8 8))\n"
         "(defun f (lin x) (torch_linear_forward lin x))\n"
         "(setq x (tensor_randn (integers 3 3 8)))\n"
         "(setq y (f lin x))\n");
    Graph *g = trace("f", false);
    check_sym_shape(g, &g->inputs[0]->shape, "[B,S,8]");
    cr_assert_eq(g->nsyms, 2);
}

/* An embedding size equal to the sequence length stays a constant. */
Test(trace, feature_size_equal_to_sequence) {
    EVAL("(setq lin (torch_linear 8 8))\n"
         "(defun f (lin x) (torch_linear_forward lin x))\n"
         "(setq x (tensor_randn (integers 2 8 8)))\n"
         "(setq y (f lin x))\n");
    Graph *g = trace("f", false);
    check_sym_shape(g, &g->inputs[0]->shape, "[B,S,8]");
}
