/* host.c: a minimal host for a lispetorchc model.so.
 *
 *   host model.so [-w weights.safetensors] [-t threads] [-r repeats] [-s NAME=VALUE]... LEN1 [LEN2...]
 *
 * Opens the model, prints its metadata, binds the weights (-w, else
 * MODEL.safetensors next to MODEL.so if it exists, unless they are
 * embedded), then runs the first entry once per LEN: the entry's last
 * symbol (the sequence length, by convention) takes LEN, the others 2 or
 * their -s value.  Inputs are deterministic pseudo-random; each output's
 * shape and checksum (sum of its values) are printed; with -r N the run is
 * repeated N more times and the mean time per run is printed.  Uses only the
 * public header lispetorchc/runtime.h.  Build:
 *   cc -Iruntime/include host.c libltc_runtime.a libltc_plan.a libltc_support.a -ldl -lpthread -lm */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lispetorchc/runtime.h"

#define MAXSYM 16
#define MAXIO 16

typedef struct Syms { const char *name[MAXSYM]; long long val[MAXSYM]; int n; } Syms;

/* Value of a dimension expression "B*S", "2*S" or "S". */
static long long eval_dim(const char *expr, const Syms *s) {
    long long v = 1;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", expr);
    for (char *tok = strtok(buf, "*"); tok; tok = strtok(NULL, "*")) {
        char *end;
        long long k = strtoll(tok, &end, 10);
        if (*end == 0 && end != tok) { v *= k; continue; }
        int i = 0;
        while (i < s->n && strcmp(s->name[i], tok) != 0) i++;
        if (i == s->n) return -1;
        v *= s->val[i];
    }
    return v;
}

static const char *dtype_name(ltc_dtype t) {
    static const char *const n[] = {"f32", "f16", "bf16", "i64", "bool"};
    return (unsigned)t <= LTC_BOOL ? n[t] : "?";
}

static void print_info(const char *what, const ltc_tensor_info *t) {
    printf("  %s '%s' %s [", what, t->name, dtype_name(t->dtype));
    for (int i = 0; i < t->ndim; i++) {
        if (t->dim_names[i]) printf("%s%s", i ? "," : "", t->dim_names[i]);
        else printf("%s%lld", i ? "," : "", (long long)t->dims[i]);
    }
    printf("]\n");
}

/* Fill a tensor with reproducible values: floats in [-1,1), ids in [0,4). */
static void fill(DLTensor *t, ltc_dtype dt, unsigned *seed) {
    long long n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    for (long long i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        float r = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        switch (dt) {
        case LTC_F32: ((float *)t->data)[i] = r; break;
        case LTC_I64: ((long long *)t->data)[i] = (*seed >> 12) % 4; break;
        case LTC_BOOL: ((unsigned char *)t->data)[i] = 1; break;
        default: ((unsigned short *)t->data)[i] = 0; break;   /* f16/bf16 zero */
        }
    }
}

static double checksum(const DLTensor *t) {
    long long n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    double s = 0;
    if (t->dtype.code == kDLFloat && t->dtype.bits == 32)
        for (long long i = 0; i < n; i++) s += ((const float *)t->data)[i];
    else if (t->dtype.code == kDLInt && t->dtype.bits == 64)
        for (long long i = 0; i < n; i++) s += (double)((const long long *)t->data)[i];
    return s;
}

int main(int argc, char **argv) {
    const char *path = NULL, *weights = NULL;
    int threads = 0, nlens = 0, repeats = 0;
    long long lens[32];
    Syms set = {{0}, {0}, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) weights = argv[++i];
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc && set.n < MAXSYM) {
            char *eq = strchr(argv[++i], '=');
            if (!eq) { fprintf(stderr, "host: -s wants NAME=VALUE\n"); return 2; }
            *eq = 0;
            set.name[set.n] = argv[i];
            set.val[set.n++] = atoll(eq + 1);
        } else if (!path) path = argv[i];
        else if (nlens < 32) lens[nlens++] = atoll(argv[i]);
    }
    if (!path || nlens == 0) {
        fprintf(stderr, "usage: host model.so [-w weights.safetensors] [-t threads] [-r repeats] [-s NAME=V]... LEN1 [LEN2...]\n");
        return 2;
    }
    ltc_error err;
    ltc_model *m = ltc_model_open(path, &err);
    if (!m) { fprintf(stderr, "host: %s\n", err.message); return 1; }
    printf("model %s: compiler %s, target %s (%s)\n", path, ltc_model_compiler_version(m),
           ltc_model_target_triple(m), ltc_model_target_cpu(m));
    if (threads > 0 && ltc_set_num_threads(m, threads) != 0) {
        fprintf(stderr, "host: %s\n", ltc_last_error(m)->message);
        ltc_model_close(m);
        return 1;
    }
    /* lispetorchc writes the weights of model.so next to it as
     * model.safetensors (unless --embed-weights): use them by default. */
    char guess[4096];
    size_t plen = strlen(path);
    if (!weights && !ltc_model_has_embedded_weights(m) && ltc_model_num_params(m) > 0 && plen > 3 &&
        strcmp(path + plen - 3, ".so") == 0 && plen + 9 < sizeof guess) {
        snprintf(guess, sizeof guess, "%.*s.safetensors", (int)(plen - 3), path);
        FILE *f = fopen(guess, "rb");
        if (f) { fclose(f); weights = guess; printf("weights: %s\n", guess); }
    }
    if (weights && ltc_model_bind_weights_file(m, weights) != 0) {
        fprintf(stderr, "host: %s\n", ltc_last_error(m)->message);
        ltc_model_close(m);
        return 1;
    }
    /* embedded or from a file: the runtime reports random weights, the host shows it */
    if (ltc_model_weights_warning(m)) fprintf(stderr, "host: warning: %s\n", ltc_model_weights_warning(m));
    const char *entry = ltc_model_entry_name(m, 0);
    int nin = ltc_model_num_inputs(m, entry), nout = ltc_model_num_outputs(m, entry);
    if (nin > MAXIO || nout > MAXIO) { fprintf(stderr, "host: too many inputs/outputs\n"); ltc_model_close(m); return 1; }
    printf("entry '%s': %d input(s), %d output(s), %d parameter(s)\n", entry, nin, nout, ltc_model_num_params(m));
    ltc_tensor_info info[MAXIO];
    for (int i = 0; i < nin; i++) { ltc_model_input_info(m, entry, i, &info[i]); print_info("input", &info[i]); }
    for (int i = 0; i < nout; i++) {
        ltc_tensor_info o;
        ltc_model_output_info(m, entry, i, &o);
        print_info("output", &o);
    }
    int rc = 0;
    unsigned seed = 1;
    int nsym = ltc_model_num_symbols(m, entry);
    for (int l = 0; l < nlens && rc == 0; l++) {
        Syms s = {{0}, {0}, 0};
        for (int i = 0; i < nsym && i < MAXSYM; i++) {
            s.name[i] = ltc_model_symbol_name(m, entry, i);
            s.val[i] = i == nsym - 1 ? lens[l] : 2;
            for (int k = 0; k < set.n; k++)
                if (strcmp(set.name[k], s.name[i]) == 0 && i != nsym - 1) s.val[i] = set.val[k];
            s.n++;
        }
        DLTensor *in[MAXIO] = {0}, inputs[MAXIO];
        for (int i = 0; i < nin && rc == 0; i++) {
            int64_t shape[LTC_MAX_NDIM];
            for (int d = 0; d < info[i].ndim; d++)
                shape[d] = info[i].dim_names[d] ? eval_dim(info[i].dim_names[d], &s) : info[i].dims[d];
            in[i] = ltc_tensor_alloc(info[i].dtype, info[i].ndim, shape);
            if (!in[i]) { fprintf(stderr, "host: cannot allocate input '%s'\n", info[i].name); rc = 1; break; }
            fill(in[i], info[i].dtype, &seed);
            inputs[i] = *in[i];
        }
        DLTensor *out[MAXIO] = {0};
        if (rc == 0 && ltc_model_run_alloc(m, entry, inputs, nin, out, nout) != 0) {
            fprintf(stderr, "host: %s\n", ltc_last_error(m)->message);
            rc = 1;
        }
        if (rc == 0 && repeats > 0) {
            DLTensor outs[MAXIO];              /* the first run's outputs, as caller memory */
            for (int i = 0; i < nout; i++) outs[i] = *out[i];
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            for (int r = 0; r < repeats && rc == 0; r++) {
                if (ltc_model_run(m, entry, inputs, nin, outs, nout) != 0) {
                    fprintf(stderr, "host: %s\n", ltc_last_error(m)->message);
                    rc = 1;
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / repeats;
            if (rc == 0) printf("%s=%lld: %.3f ms per run (%d runs, %d threads)\n", nsym ? s.name[nsym - 1] : "len",
                                lens[l], ms, repeats, ltc_get_num_threads(m));
        }
        for (int i = 0; rc == 0 && i < nout; i++) {
            ltc_tensor_info o;
            ltc_model_output_info(m, entry, i, &o);
            printf("%s=%lld: output '%s' [", nsym ? s.name[nsym - 1] : "len", lens[l], o.name);
            for (int d = 0; d < out[i]->ndim; d++) printf("%s%lld", d ? "," : "", (long long)out[i]->shape[d]);
            printf("] sum=%.6g\n", checksum(out[i]));
        }
        for (int i = 0; i < nout; i++) ltc_tensor_free(out[i]);
        for (int i = 0; i < nin; i++) ltc_tensor_free(in[i]);
    }
    ltc_model_close(m);
    return rc;
}
