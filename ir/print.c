/* print.c: the IR as text (stable and diffable: ids renumbered densely in
 * node order, only non-default attributes, numbers with %.9g) and as a
 * Graphviz digraph. */
#include "ir/ir_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Dense numbering: node pointer -> position in g->nodes (open addressing). */
typedef struct IdMap { const Node **keys; int *vals; size_t cap; } IdMap;

static size_t hash_ptr(const void *p, size_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 17) & (cap - 1);
}

static bool idmap_init(IdMap *m, const Graph *g) {
    m->cap = 16;
    while (m->cap < (size_t)g->nnodes * 2 + 2) m->cap *= 2;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->vals = calloc(m->cap, sizeof *m->vals);
    if (!m->keys || !m->vals) { free(m->keys); free(m->vals); m->keys = NULL; m->vals = NULL; return false; }
    for (int i = 0; i < g->nnodes; i++) {
        size_t h = hash_ptr(g->nodes[i], m->cap);
        while (m->keys[h]) h = (h + 1) & (m->cap - 1);
        m->keys[h] = g->nodes[i];
        m->vals[h] = i;
    }
    return true;
}

static int idmap_get(const IdMap *m, const Node *n) {
    if (!m->keys) return n->id;                       /* no memory: fall back to stored ids */
    for (size_t h = hash_ptr(n, m->cap); m->keys[h]; h = (h + 1) & (m->cap - 1))
        if (m->keys[h] == n) return m->vals[h];
    return -1;
}

static void idmap_free(IdMap *m) { free(m->keys); free(m->vals); }

static void put_ref(StrBuf *b, const IdMap *m, const Node *n) {
    int id = idmap_get(m, n);
    if (id < 0) sb_puts(b, "%?");
    else sb_printf(b, "%%%d", id);
}

static void put_type(StrBuf *b, const Graph *g, const Node *n) {
    char buf[256];
    sb_printf(b, "%s%s", dtype_name(n->dtype), shape_str(g, &n->shape, buf, sizeof buf));
}

static void put_quoted(StrBuf *b, const char *s) {
    sb_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_putc(b, '\\');
        if ((unsigned char)*s < 0x20) sb_printf(b, "\\x%02x", (unsigned char)*s);
        else sb_putc(b, *s);
    }
    sb_putc(b, '"');
}

/* Attributes worth printing: those that differ from zero, plus the axis of
 * ops that always read one, and the bounds of a slice. */
static void put_attrs(StrBuf *b, const Graph *g, const Node *n) {
    const Attr *a = &n->a;
    int cnt = 0;
#define SEP() sb_puts(b, cnt++ ? ", " : " {")
#define NUM(field) if (a->field != 0) { SEP(); sb_printf(b, #field "=%.9g", a->field); }
    switch (n->op) {
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_SUM_DIM: case OP_MEAN_DIM: case OP_MAX_DIM:
    case OP_ARGMAX: case OP_CUMSUM: case OP_SLICE: case OP_CAT:
        SEP(); sb_printf(b, "axis=%d", a->axis);
        break;
    default:
        if (a->axis) { SEP(); sb_printf(b, "axis=%d", a->axis); }
    }
    if (n->op == OP_SLICE) {
        char s1[128], s2[128];
        Shape ss = {1, {a->start}}, se = {1, {a->end}};
        shape_str(g, &ss, s1, sizeof s1);
        shape_str(g, &se, s2, sizeof s2);
        s1[strlen(s1) - 1] = 0;
        s2[strlen(s2) - 1] = 0;
        SEP(); sb_printf(b, "start=%s, end=%s, step=%lld", s1 + 1, s2 + 1, (long long)a->step);
    }
    if (n->op == OP_PERMUTE) {
        SEP(); sb_puts(b, "perm=[");
        for (int i = 0; i < n->shape.rank; i++) sb_printf(b, "%s%d", i ? "," : "", a->perm[i]);
        sb_putc(b, ']');
    }
    NUM(f) NUM(f2) NUM(lo) NUM(hi) NUM(eps) NUM(scale) NUM(p)
    if (a->i) {
        SEP();
        if (n->op == OP_ADD_NORM && a->i > 0 && a->i < OP_COUNT) sb_printf(b, "norm=%s", op_info[a->i].name);
        else if (n->op == OP_SDPA) sb_printf(b, "group=%lld", (long long)a->i);
        else sb_printf(b, "i=%lld", (long long)a->i);
    }
    if (a->keepdim) { SEP(); sb_puts(b, "keepdim=true"); }
    if (a->causal) { SEP(); sb_puts(b, "causal=true"); }
    if (a->training) { SEP(); sb_puts(b, "training=true"); }
    if (a->flags) { SEP(); sb_printf(b, "flags=%d", a->flags); }
    if (a->act > 0 && a->act < OP_COUNT) { SEP(); sb_printf(b, "act=%s", op_info[a->act].name); }
    if (a->seed) { SEP(); sb_printf(b, "seed=%llu", (unsigned long long)a->seed); }
    if (cnt) sb_putc(b, '}');
#undef NUM
#undef SEP
}

void ir_print(const Graph *g, StrBuf *b) {
    IdMap m;
    idmap_init(&m, g);
    sb_printf(b, "graph %s(", g->name ? g->name : "?");
    for (int i = 0; i < g->ninputs; i++) {
        sb_printf(b, "%s%s: ", i ? ", " : "", g->inputs[i]->name ? g->inputs[i]->name : "?");
        put_type(b, g, g->inputs[i]);
    }
    sb_puts(b, ") -> (");
    for (int i = 0; i < g->noutputs; i++) {
        if (i) sb_puts(b, ", ");
        put_ref(b, &m, g->outputs[i]);
    }
    sb_puts(b, ")\n");
    if (g->nsyms) {
        sb_puts(b, "  symbols");
        for (int i = 0; i < g->nsyms; i++) sb_printf(b, " %s=%lld", g->syms[i].name, (long long)g->syms[i].example);
        sb_putc(b, '\n');
    }
    for (int i = 0; i < g->nguards; i++) {   /* "  guard S <= 64 (x.lsp:10:13: ...)" */
        char buf[900];
        sb_printf(b, "  guard %s\n", guard_str(g, &g->guards[i], buf, sizeof buf));
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        sb_printf(b, "  %%%d = %s", i, op_info[n->op].name);
        if ((n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_CONST) && n->name) {
            sb_putc(b, ' ');
            put_quoted(b, n->name);
        }
        for (int j = 0; j < n->nin; j++) {
            sb_puts(b, j ? ", " : " ");
            put_ref(b, &m, n->in[j]);
        }
        put_attrs(b, g, n);
        sb_puts(b, " : ");
        put_type(b, g, n);
        sb_putc(b, '\n');
    }
    idmap_free(&m);
}

static void dot_escape(StrBuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_putc(b, '\\');
        if (*s == '\n') sb_puts(b, "\\n");
        else if ((unsigned char)*s >= 0x20) sb_putc(b, *s);
    }
}

void ir_print_dot(const Graph *g, StrBuf *b) {
    IdMap m;
    idmap_init(&m, g);
    bool *is_out = calloc((size_t)g->nnodes + 1, sizeof *is_out);
    for (int i = 0; is_out && i < g->noutputs; i++) {
        int id = idmap_get(&m, g->outputs[i]);
        if (id >= 0 && id < g->nnodes) is_out[id] = true;
    }
    sb_puts(b, "digraph \"");
    dot_escape(b, g->name ? g->name : "?");
    sb_puts(b, "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        StrBuf lab = {0};
        sb_printf(&lab, "%%%d %s", i, op_info[n->op].name);
        if (n->name && (n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_CONST)) sb_printf(&lab, " %s", n->name);
        sb_putc(&lab, '\n');
        put_type(&lab, g, n);
        sb_printf(b, "  n%d [label=\"", i);
        dot_escape(b, lab.s);
        sb_puts(b, "\"");
        sb_free(&lab);
        if (n->op == OP_INPUT) sb_puts(b, ", shape=invhouse, style=filled, fillcolor=\"#cfe2ff\"");
        else if (n->op == OP_PARAM || n->op == OP_CONST) sb_puts(b, ", shape=note, style=filled, fillcolor=\"#eeeeee\"");
        else if (op_info[n->op].flags & OPF_FUSED) sb_puts(b, ", style=filled, fillcolor=\"#ffe8b0\"");
        if (is_out && is_out[i]) sb_puts(b, ", peripheries=2, color=\"#1a7f37\"");
        sb_puts(b, "];\n");
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            int id = idmap_get(&m, n->in[j]);
            if (id >= 0) sb_printf(b, "  n%d -> n%d;\n", id, i);
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        int id = idmap_get(&m, g->outputs[i]);
        if (id >= 0) sb_printf(b, "  out%d [label=\"output %d\", shape=house, style=filled, fillcolor=\"#d8f5d0\"];\n  n%d -> out%d;\n", i, i, id, i);
    }
    sb_puts(b, "}\n");
    free(is_out);
    idmap_free(&m);
}
