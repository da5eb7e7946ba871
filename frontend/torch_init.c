/* torch_init.c: registration of the lispe_torch library, plus its device
 * and seed functions.  The graph is device-neutral: the back end chosen on
 * the command line decides where it runs, so device moves are identities. */
#include "frontend/torch.h"

#include <string.h>

#define BI(fn) static Value *fn(Interp *I, Value **args, int nargs, Value *call)


/* "cpu", "cuda", "cuda:N", "mps" as lispe_torch's lookup_device accepts. */
static bool known_device(const char *s) {
    if (!strcmp(s, "cpu") || !strcmp(s, "cuda") || !strcmp(s, "mps")) return true;
    if (strncmp(s, "cuda:", 5) || !s[5]) return false;
    for (const char *p = s + 5; *p; p++) if (*p < '0' || *p > '9') return false;
    return true;
}

static Node *device_tensor(Interp *I, Value **args, int nargs, Value *call) {
    Node *t = t_arg_tensor(I, call, args, 0);
    if (nargs > 1 && args[1] && args[1]->kind != V_NIL) {
        if (args[1]->kind != V_STR)
            lisp_fail(I, loc_of(call), "%s: argument 2 (device) must be a string, got %s",
                      t_fname(call), t_kind(I, args[1]));
        if (!known_device(args[1]->s))
            lisp_fail(I, loc_of(call), "%s: unknown device \"%s\"", t_fname(call), args[1]->s);
    }
    return t;
}

BI(bi_best_device) { return v_str(I, "cpu"); }
BI(bi_to_device) { return v_tensor(I, device_tensor(I, args, nargs, call)); }
BI(bi_false) { return v_nil(); }
BI(bi_zero) { return v_int(I, 0); }

/* torch_set_seed(n): restart the session's random stream (an extension;
 * lispe_torch has no seed function). */
BI(bi_set_seed) {
    int64_t s = arg_int(I, call, args, 0);
    I->seed = (uint64_t)s;
    I->eager->seed = (uint64_t)s;
    I->eager->next_seed = 0;
    return v_true();
}

const Builtin torch_device_builtins[] = {
    {"torch_get_best_device", 0, 0, bi_best_device, NULL},
    {"torch_to_device", 2, 2, bi_to_device, NULL},
    {"torch_to_cuda", 1, 2, bi_to_device, NULL},
    {"torch_to_cpu", 1, 1, bi_to_device, NULL},
    {"torch_to_mps", 1, 1, bi_to_device, NULL},
    {"torch_cuda_is_available", 0, 0, bi_false, "torch_cuda_available"},
    {"torch_mps_is_available", 0, 0, bi_false, "torch_mps_available"},
    {"torch_cuda_device_count", 0, 0, bi_zero, NULL},
    {"torch_set_seed", 1, 1, bi_set_seed, "torch_manual_seed"},
    {NULL, 0, 0, NULL, NULL},
};

void torch_register(Interp *I) {
    interp_register(I, torch_tensor_builtins);
    interp_register(I, torch_module_builtins);
    interp_register(I, torch_attention_builtins);
    interp_register(I, torch_device_builtins);
    interp_register(I, torch_weights_builtins);
    interp_register(I, torch_gqa_builtins);
    interp_register(I, jit_builtins);
}
