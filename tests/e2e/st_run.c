/* st_run: run a model.so on inputs from a safetensors file.
 *
 *   st_run MODEL.so WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors NAME...
 *
 * Binds WEIGHTS, takes each input of the first entry from INPUTS by the
 * input's name (as `run --save-tensors` saves the script's globals), runs
 * the entry and writes output i under NAME i.  With st_compare this checks
 * a library against `run --interpret` on the same weights and inputs.  Uses
 * the public runtime API only; a warning about the weights (random ones)
 * makes it fail, since the point is to run given weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lispetorchc/runtime.h"
#include "support/safetensors.h"

#define MAXIO 16

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: st_run MODEL.so WEIGHTS.st INPUTS.st OUT.st NAME...\n");
        return 2;
    }
    ltc_error err;
    ltc_model *m = ltc_model_open(argv[1], &err);
    if (!m) { fprintf(stderr, "st_run: %s\n", err.message); return 1; }
    int rc = 1;
    StFile in;
    char why[512];
    memset(&in, 0, sizeof in);
    DLTensor *outs[MAXIO] = {0};
    DLTensor ins[MAXIO];
    void *bufs[MAXIO] = {0};
    int nin = ltc_model_num_inputs(m, NULL), nout = ltc_model_num_outputs(m, NULL);
    if (ltc_model_bind_weights_file(m, argv[2]) != 0) { fprintf(stderr, "st_run: %s\n", ltc_last_error(m)->message); goto out; }
    if (ltc_model_weights_warning(m)) { fprintf(stderr, "st_run: %s\n", ltc_model_weights_warning(m)); goto out; }
    if (st_open(argv[3], &in, why, sizeof why) != 0) { fprintf(stderr, "st_run: %s: %s\n", argv[3], why); goto out; }
    if (nin < 0 || nin > MAXIO || nout < 0 || nout > MAXIO || nout != argc - 5) {
        fprintf(stderr, "st_run: the entry has %d inputs and %d outputs (%d output names given)\n", nin, nout, argc - 5);
        goto out;
    }
    for (int i = 0; i < nin; i++) {
        ltc_tensor_info info;
        if (ltc_model_input_info(m, NULL, i, &info) != 0) goto out;
        const StTensor *t = st_find(&in, info.name);
        if (!t) { fprintf(stderr, "st_run: %s has no tensor '%s'\n", argv[3], info.name); goto out; }
        /* an aligned copy: the file's data may not be aligned to its element size */
        if (!(bufs[i] = aligned_alloc(64, (t->nbytes + 63) / 64 * 64 + 64))) goto out;
        memcpy(bufs[i], t->data, t->nbytes);
        ins[i] = (DLTensor){.data = bufs[i], .device = {kDLCPU, 0}, .ndim = t->rank,
                            .dtype = ltc_dtype_to_dl((ltc_dtype)t->dtype), .shape = (int64_t *)t->shape};
    }
    if (ltc_model_run_alloc(m, NULL, ins, nin, outs, nout) != 0) {
        fprintf(stderr, "st_run: %s\n", ltc_last_error(m)->message);
        goto out;
    }
    StTensor ts[MAXIO];
    for (int i = 0; i < nout; i++) {
        ltc_tensor_info info;
        if (ltc_model_output_info(m, NULL, i, &info) != 0) goto out;
        size_t n = 1;
        for (int k = 0; k < outs[i]->ndim; k++) n *= (size_t)outs[i]->shape[k];
        ts[i] = (StTensor){.name = argv[5 + i], .dtype = (StDType)info.dtype, .rank = outs[i]->ndim,
                           .data = outs[i]->data, .nbytes = n * st_dtype_size((StDType)info.dtype)};
        for (int k = 0; k < outs[i]->ndim; k++) ts[i].shape[k] = outs[i]->shape[k];
    }
    if (st_write(argv[4], ts, nout, NULL, 0, why, sizeof why) != 0) { fprintf(stderr, "st_run: %s\n", why); goto out; }
    rc = 0;
out:
    for (int i = 0; i < MAXIO; i++) { ltc_tensor_free(outs[i]); free(bufs[i]); }
    st_close(&in);
    ltc_model_close(m);
    return rc;
}
