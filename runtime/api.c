/* api.c: the public runtime API (lispetorchc/runtime.h) over the executor.
 *
 * A model is a dlopen'ed model.so, its descriptor, the plans decoded from
 * it (in the model's arena), one RtProgram per entry, the device its
 * descriptor names (device.h) and a scratch buffer on it.  Every check happens before any kernel runs. */
#include "lispetorchc/runtime.h"
#include "runtime/rt_api.h"
#include "runtime/rt_handles.h"
#include "runtime/rt_seal.h"
#include "runtime/rt_internal.h"
#include "plan/serialize.h"
#include "support/safetensors.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct Entry {
    RtProgram prog;
    const char *(*in_dn)[LTC_MAX_RANK];     /* dim names for metadata */
    const char *(*out_dn)[LTC_MAX_RANK];
} Entry;

typedef struct UParam {                     /* a parameter, shared by name across entries */
    const PlanTensor *t;
    const Plan *plan;
    const char *dn[LTC_MAX_RANK];
} UParam;

#define LTC_HANDLE_MAGIC 0x4C44484D43544CULL   /* "LTCMHDL": cleared on close */

struct ltc_model {
    uint64_t magic;                 /* LTC_HANDLE_MAGIC while open */
    uint64_t serial;                /* rt_handle_add: keys the per-thread errors */
    void *dl;
    const LtcModelDescriptor *desc;
    Arena arena;
    Plan **plans; int nplans;
    Entry *entries;
    UParam *params; int nparams;
    RtDevice *dev;                  /* the descriptor's device (devices.def) */
    void **kernels;                 /* desc->nkernels handles from dev's load... */
    bool loaded;                    /* ...and whether they must be unloaded */
    uint32_t *kthreads;             /* GPU models: each kernel's group size */
    RtScratch scratch;
    pthread_mutex_t mu;
    /* current weights binding */
    StFile wf; bool wf_open;
    void **copies; int ncopies;             /* tensors copied for alignment */
    void **dparams; int ndparams;           /* parameters uploaded to a device without host memory */
    bool bound;
    char weights_warning[600];      /* ltc_model_weights_warning; "" when none */
    uint64_t calls;                         /* runs so far: the call number of the next run
                                             * (dropout masks, docs/runtime.md) */
};

static int set_err(ltc_error *e, ltc_status code, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* This thread's error record of m (runtime.h: errors are per thread). */
static ltc_error *merr(const ltc_model *m) { return rt_thread_error(m->serial); }
static void clear_err(ltc_error *e) { e->code = LTC_OK; e->message[0] = 0; }

/* m is an open model: checked in the registry before m is dereferenced, so
 * a closed handle is refused instead of read after free. */
static bool live(const ltc_model *m) {
    return m && rt_handle_live(m) && m->magic == LTC_HANDLE_MAGIC;
}

const char *ltc_runtime_version(void) { return LTC_VERSION; }

static bool shape_eq_plain(const Shape *a, const Shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i].k != b->d[i].k || a->d[i].sym != b->d[i].sym) return false;
    return true;
}

/* ---- metadata strings ------------------------------------------------------- */
static const char *(*dim_names(ltc_model *m, const Plan *p, const PlanTensor *t, int n))[LTC_MAX_RANK] {
    const char *(*dn)[LTC_MAX_RANK] = arena_alloc(&m->arena, sizeof *dn * (size_t)(n ? n : 1));
    if (!dn) return NULL;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < t[i].shape.rank; j++)
            if (t[i].shape.d[j].sym) {
                char buf[128];
                dn[i][j] = arena_strdup(&m->arena, rt_dim_str(p, t[i].shape.d[j], buf, sizeof buf));
            }
    return dn;
}

static int collect_params(ltc_model *m, ltc_error *err) {
    int total = 0;
    for (int i = 0; i < m->nplans; i++) total += m->plans[i]->nparams;
    m->params = arena_alloc(&m->arena, sizeof *m->params * (size_t)(total ? total : 1));
    if (!m->params) return set_err(err, LTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->nplans; i++) {
        const Plan *p = m->plans[i];
        for (int k = 0; k < p->nparams; k++) {
            const PlanTensor *t = &p->params[k];
            int j = 0;
            while (j < m->nparams && strcmp(m->params[j].t->name, t->name) != 0) j++;
            if (j < m->nparams) {
                if (m->params[j].t->dtype != t->dtype || !shape_eq_plain(&m->params[j].t->shape, &t->shape))
                    return set_err(err, LTC_ERR_FORMAT, "parameter '%s' has different shapes in two entries", t->name);
                continue;
            }
            UParam *u = &m->params[m->nparams++];
            u->t = t;
            u->plan = p;
            for (int d = 0; d < t->shape.rank; d++)
                if (t->shape.d[d].sym) {
                    char buf[128];
                    u->dn[d] = arena_strdup(&m->arena, rt_dim_str(p, t->shape.d[d], buf, sizeof buf));
                }
        }
    }
    return 0;
}

/* ---- open / close ------------------------------------------------------------- */
static int check_descriptor(ltc_model *m, const char *path, uint32_t sealed_digest, ltc_error *err) {
    const LtcModelDescriptor *d = m->desc;
    if (d->magic != LTC_MODEL_MAGIC)
        return set_err(err, LTC_ERR_FORMAT, "'%s': not a lispetorchc model (bad descriptor magic)", path);
    if (d->abi_version != LTC_MODEL_ABI)
        return set_err(err, LTC_ERR_ABI, "'%s': model ABI version %u, this runtime reads version %d: rebuild the model with lispetorchc %s",
                       path, d->abi_version, LTC_MODEL_ABI, LTC_VERSION);
    /* The file's CRC was checked before dlopen; this ties the descriptor
     * the loader actually mapped (plans, versions, target, GPU code) to
     * that seal. */
    if (!seal_crc_equal(seal_desc_digest(d->plans, d->plans_len, d->compiler_version, d->triple, d->cpu, d->features,
                                         d->device, d->code, d->code_len),
                        sealed_digest))
        return set_err(err, LTC_ERR_FORMAT, "'%s': descriptor checksum mismatch (plans, code or metadata damaged)", path);
    if (!d->compiler_version || strcmp(d->compiler_version, LTC_VERSION) != 0)
        return set_err(err, LTC_ERR_VERSION, "'%s': compiled by lispetorchc %s, this runtime is %s (recompile the model)",
                       path, d->compiler_version ? d->compiler_version : "(unknown)", LTC_VERSION);
    if (!d->device || !rt_device_find(d->device))
        return set_err(err, LTC_ERR_DEVICE, "'%s': the model's kernels are for device '%s', which this runtime does not have (devices: %s)",
                       path, d->device ? d->device : "(none)", rt_device_list());
    char why[400];
    /* Native kernels must suit this CPU; a GPU model's host side is the
     * ELF checked before dlopen, and its kernels are the driver's. */
    if (rt_device_find(d->device)->native_code && rt_check_target(d->triple, d->features, why, sizeof why) != 0)
        return set_err(err, LTC_ERR_CPU, "'%s': %s", path, why);
    if (!d->plans || d->plans_len == 0)
        return set_err(err, LTC_ERR_FORMAT, "'%s': descriptor has no plans", path);
    LtcDiag diag = {0};
    if (plan_deserialize(&m->arena, d->plans, (size_t)d->plans_len, &m->plans, &m->nplans, &diag) != 0)
        return set_err(err, LTC_ERR_FORMAT, "'%s': %s", path, diag.msg);
    if (m->nplans == 0) return set_err(err, LTC_ERR_FORMAT, "'%s': model has no entries", path);
    uint32_t total = 0;
    for (int i = 0; i < m->nplans; i++) total += (uint32_t)m->plans[i]->nkernels;
    if (total != d->nkernels)
        return set_err(err, LTC_ERR_FORMAT, "'%s': descriptor lists %u kernels, plans need %u", path, d->nkernels, total);
    /* The handles are filled by the device's load (ltc_model_open); the
     * tables themselves (kernels or gpu_kernels) are checked there. */
    m->kernels = arena_alloc(&m->arena, sizeof *m->kernels * ((size_t)total + 1));
    m->kthreads = arena_alloc(&m->arena, sizeof *m->kthreads * ((size_t)total + 1));
    m->entries = arena_alloc(&m->arena, sizeof *m->entries * (size_t)m->nplans);
    if (!m->kernels || !m->kthreads || !m->entries) return set_err(err, LTC_ERR_NOMEM, "out of memory");
    memset(m->kernels, 0, sizeof *m->kernels * ((size_t)total + 1));
    for (uint32_t i = 0; i < total; i++) m->kthreads[i] = d->gpu_kernels ? d->gpu_kernels[i].threads : 0;
    uint32_t base = 0;
    for (int i = 0; i < m->nplans; i++) {
        Plan *p = m->plans[i];
        Entry *e = &m->entries[i];
        e->prog.plan = p;
        e->prog.kernels = m->kernels + base;
        e->prog.threads = d->gpu_kernels ? m->kthreads + base : NULL;
        e->prog.params = arena_alloc(&m->arena, sizeof *e->prog.params * (size_t)(p->nparams + 1));
        e->in_dn = dim_names(m, p, p->inputs, p->ninputs);
        e->out_dn = dim_names(m, p, p->outputs, p->noutputs);
        if (!e->prog.params || !e->in_dn || !e->out_dn)
            return set_err(err, LTC_ERR_NOMEM, "out of memory");
        for (int k = 0; k < p->nkernels; k++, base++) {
            /* CPU models name their kernels in kernel_names, GPU models in
             * gpu_kernels (the names the device looks the code up by) */
            const char *kn = d->kernel_names ? d->kernel_names[base] : d->gpu_kernels ? d->gpu_kernels[base].name : NULL;
            if (kn && strcmp(kn, p->kernels[k].name) != 0)
                return set_err(err, LTC_ERR_FORMAT, "'%s': kernel table out of order ('%s' where '%s' is expected)",
                               path, kn, p->kernels[k].name);
        }
    }
    return collect_params(m, err);
}

ltc_model *ltc_model_open(const char *path, ltc_error *err) {
    ltc_error scratch_err;
    if (!err) err = &scratch_err;
    err->code = LTC_OK;
    err->message[0] = 0;
    if (!path) { set_err(err, LTC_ERR_ARG, "ltc_model_open: path is NULL"); return NULL; }
    ltc_model *m = calloc(1, sizeof *m);
    if (!m) { set_err(err, LTC_ERR_NOMEM, "out of memory"); return NULL; }
    arena_init(&m->arena);
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        set_err(err, LTC_ERR_NOMEM, "cannot create a mutex");
        return NULL;
    }
    m->magic = LTC_HANDLE_MAGIC;
    if ((m->serial = rt_handle_add(m)) == 0) {
        pthread_mutex_destroy(&m->mu);
        free(m);
        set_err(err, LTC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    /* dlopen searches the library path for a bare name: make it a path. */
    char *full = arena_printf(&m->arena, "%s%s", strchr(path, '/') ? "" : "./", path);
    if (!full) { set_err(err, LTC_ERR_NOMEM, "out of memory"); ltc_model_close(m); return NULL; }
    /* Check the file before the dynamic loader maps it: ld.so trusts the
     * program headers (a truncated file ends the host with SIGBUS), and a
     * damaged file can hold any code (docs/hardening.md). */
    uint32_t sealed_digest = 0;
    int is_io = 0;
    char why[400];
    if (rt_check_model_file(full, &sealed_digest, &is_io, why, sizeof why) != 0) {
        set_err(err, is_io ? LTC_ERR_IO : LTC_ERR_FORMAT, "cannot load '%s': %s", path, why);
        ltc_model_close(m);
        return NULL;
    }
    m->dl = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *why = dlerror();
        set_err(err, LTC_ERR_IO, "cannot load '%s': %s", path, why ? why : "out of memory");
        ltc_model_close(m);
        return NULL;
    }
    m->desc = dlsym(m->dl, LTC_DESCRIPTOR_SYMBOL);
    if (!m->desc) {
        set_err(err, LTC_ERR_FORMAT, "'%s' is not a lispetorchc model (no symbol '%s')", path, LTC_DESCRIPTOR_SYMBOL);
        ltc_model_close(m);
        return NULL;
    }
    /* The symbol must be at least a whole descriptor before any field is
     * read (a foreign library could export a small object of that name). */
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    size_t have = dladdr1(m->desc, &info, (void **)&sym, RTLD_DL_SYMENT) != 0 && sym ? (size_t)sym->st_size
                                                                                 : sizeof(LtcModelDescriptor);
    /* magic and ABI version first (an older layout is smaller): then the
     * message says which version to recompile for */
    if (have < 16 || (m->desc->magic == LTC_MODEL_MAGIC && m->desc->abi_version == LTC_MODEL_ABI &&
                      have < sizeof(LtcModelDescriptor))) {
        set_err(err, LTC_ERR_FORMAT, "'%s': symbol '%s' is too small to be a model descriptor (%zu bytes)",
                path, LTC_DESCRIPTOR_SYMBOL, have);
        ltc_model_close(m);
        return NULL;
    }
    if (check_descriptor(m, path, sealed_digest, err) != 0) { ltc_model_close(m); return NULL; }
    char derr[sizeof err->message];
    if (!(m->dev = rt_device_open(m->desc->device, 0, derr, sizeof derr))) {
        set_err(err, LTC_ERR_DEVICE, "'%s': %s", path, derr);
        ltc_model_close(m);
        return NULL;
    }
    /* The kernels, once per model: on a GPU the driver compiles the code
     * image here, so a model that cannot run fails at open, not mid-run. */
    if (m->dev->ops->load(m->dev, m->desc, m->kernels, derr, sizeof derr) != 0) {
        set_err(err, m->dev->ops->native_code ? LTC_ERR_FORMAT : LTC_ERR_DEVICE, "'%s': %s", path, derr);
        ltc_model_close(m);
        return NULL;
    }
    m->loaded = true;
    if (m->desc->weights && m->desc->weights_len) {
        if (ltc_model_bind_weights_memory(m, m->desc->weights, (size_t)m->desc->weights_len) != 0) {
            *err = *merr(m);
            ltc_model_close(m);
            return NULL;
        }
    }
    clear_err(merr(m));
    return m;
}

static void unbind(ltc_model *m) {
    for (int i = 0; i < m->nplans; i++) {
        rt_program_free_packed(&m->entries[i].prog);
        if (m->entries[i].prog.params)          /* NULL when open failed half-way */
            for (int k = 0; k < m->plans[i]->nparams; k++) m->entries[i].prog.params[k] = NULL;
    }
    for (int i = 0; i < m->ncopies; i++) free(m->copies[i]);
    free(m->copies);
    m->copies = NULL;
    m->ncopies = 0;
    for (int i = 0; i < m->ndparams; i++) m->dev->ops->free(m->dev, m->dparams[i]);
    free(m->dparams);
    m->dparams = NULL;
    m->ndparams = 0;
    if (m->wf_open) st_close(&m->wf);
    m->wf_open = false;
    m->bound = false;
}

void ltc_model_close(ltc_model *m) {
    if (!live(m)) return;                   /* NULL, or closed already */
    rt_handle_remove(m);
    m->magic = 0;
    rt_thread_error_drop(m->serial);
    if (m->entries) unbind(m);
    rt_scratch_free(&m->scratch);
    if (m->loaded) m->dev->ops->unload(m->dev, m->kernels, m->desc->nkernels);
    rt_device_close(m->dev);
    if (m->dl) dlclose(m->dl);
    arena_free(&m->arena);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

const ltc_error *ltc_last_error(const ltc_model *m) {
    static const ltc_error null_model = {LTC_ERR_ARG, "model is NULL"};
    static const ltc_error closed = {LTC_ERR_ARG, "model handle is closed or invalid"};
    return !m ? &null_model : live(m) ? merr(m) : &closed;
}

int ltc_set_num_threads(ltc_model *m, int n) {
    if (!live(m)) return -1;
    if (n <= 0) n = rt_online_cores();
    pthread_mutex_lock(&m->mu);
    char why[200];
    int rc = m->dev->ops->set_threads(m->dev, n, why, sizeof why);
    if (rc != 0) set_err(merr(m), LTC_ERR_NOMEM, "%s", why);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* the count the device really uses (the CPU pool caps it) */
int ltc_get_num_threads(const ltc_model *m) { return live(m) ? m->dev->ops->threads(m->dev) : -1; }

/* ---- metadata ------------------------------------------------------------------- */
const char *ltc_model_compiler_version(const ltc_model *m) { return live(m) ? m->desc->compiler_version : NULL; }
int ltc_model_abi_version(const ltc_model *m) { return live(m) ? (int)m->desc->abi_version : -1; }
const char *ltc_model_target_triple(const ltc_model *m) { return live(m) ? m->desc->triple : NULL; }
const char *ltc_model_target_cpu(const ltc_model *m) { return live(m) ? m->desc->cpu : NULL; }
const char *ltc_model_target_features(const ltc_model *m) { return live(m) ? m->desc->features : NULL; }
int ltc_model_has_embedded_weights(const ltc_model *m) { return live(m) && m->desc->weights && m->desc->weights_len; }
int ltc_model_num_entries(const ltc_model *m) { return live(m) ? m->nplans : -1; }

const char *ltc_model_entry_name(const ltc_model *m, int i) {
    return live(m) && i >= 0 && i < m->nplans ? m->plans[i]->graph->name : NULL;
}

static int find_entry(const ltc_model *m, const char *entry) {
    if (!live(m)) return -1;
    if (!entry) return 0;
    for (int i = 0; i < m->nplans; i++)
        if (strcmp(m->plans[i]->graph->name, entry) == 0) return i;
    return -1;
}

int ltc_model_num_symbols(const ltc_model *m, const char *entry) {
    int e = find_entry(m, entry);
    return e < 0 ? -1 : m->plans[e]->graph->nsyms;
}

const char *ltc_model_symbol_name(const ltc_model *m, const char *entry, int i) {
    int e = find_entry(m, entry);
    if (e < 0 || i < 0 || i >= m->plans[e]->graph->nsyms) return NULL;
    return m->plans[e]->graph->syms[i].name;
}

int ltc_model_num_inputs(const ltc_model *m, const char *entry) {
    int e = find_entry(m, entry);
    return e < 0 ? -1 : m->plans[e]->ninputs;
}

int ltc_model_num_outputs(const ltc_model *m, const char *entry) {
    int e = find_entry(m, entry);
    return e < 0 ? -1 : m->plans[e]->noutputs;
}

static void fill_info(const PlanTensor *t, const char *const *dn, ltc_tensor_info *out) {
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->dtype = (ltc_dtype)t->dtype;
    out->ndim = t->shape.rank;
    for (int i = 0; i < t->shape.rank; i++) {
        out->dims[i] = t->shape.d[i].sym ? -1 : t->shape.d[i].k;
        out->dim_names[i] = t->shape.d[i].sym ? dn[i] : NULL;
    }
}

int ltc_model_input_info(const ltc_model *m, const char *entry, int i, ltc_tensor_info *out) {
    int e = find_entry(m, entry);
    if (e < 0 || !out || i < 0 || i >= m->plans[e]->ninputs) return -1;
    fill_info(&m->plans[e]->inputs[i], m->entries[e].in_dn[i], out);
    return 0;
}

int ltc_model_output_info(const ltc_model *m, const char *entry, int i, ltc_tensor_info *out) {
    int e = find_entry(m, entry);
    if (e < 0 || !out || i < 0 || i >= m->plans[e]->noutputs) return -1;
    fill_info(&m->plans[e]->outputs[i], m->entries[e].out_dn[i], out);
    return 0;
}

int ltc_model_num_params(const ltc_model *m) { return live(m) ? m->nparams : -1; }

int ltc_model_param_info(const ltc_model *m, int i, ltc_tensor_info *out) {
    if (!live(m) || !out || i < 0 || i >= m->nparams) return -1;
    fill_info(m->params[i].t, m->params[i].dn, out);
    return 0;
}

/* ---- weights ------------------------------------------------------------------------ */
/* Bind from an opened safetensors file f (taken over on success). */
static int bind_from(ltc_model *m, StFile *f, const char *what) {
    void **ptr = calloc((size_t)m->nparams + 1, sizeof *ptr);
    void **copies = calloc((size_t)m->nparams + 1, sizeof *copies);
    void **dcopies = calloc((size_t)m->nparams + 1, sizeof *dcopies);
    int ncopies = 0, ndcopies = 0;
    if (!ptr || !copies || !dcopies) {
        free(ptr); free(copies); free(dcopies); st_close(f);
        return set_err(merr(m), LTC_ERR_NOMEM, "out of memory");
    }
    int rc = 0;
    for (int i = 0; i < m->nparams && rc == 0; i++) {
        const PlanTensor *t = m->params[i].t;
        const StTensor *s = st_find(f, t->name);
        char want[256], got[256];
        int64_t dims[LTC_MAX_RANK] = {0};
        int64_t zero[LTC_MAX_SYMS] = {0};
        if (!s) { rc = set_err(merr(m), LTC_ERR_WEIGHTS, "%s: missing tensor '%s'", what, t->name); break; }
        if ((int)s->dtype != (int)t->dtype) {
            rc = set_err(merr(m), LTC_ERR_WEIGHTS, "%s: tensor '%s' has dtype %s, the model expects %s", what,
                         t->name, st_dtype_name(s->dtype), st_dtype_name((StDType)t->dtype));
            break;
        }
        bool same = plan_tensor_dims(t, zero, dims) == 0 && s->rank == t->shape.rank;
        for (int d = 0; same && d < s->rank; d++) same = s->shape[d] == dims[d] && !t->shape.d[d].sym;
        if (!same) {
            rc = set_err(merr(m), LTC_ERR_WEIGHTS, "%s: tensor '%s' has shape %s, the model expects %s", what,
                         t->name, dims_str(s->shape, s->rank > LTC_MAX_RANK ? LTC_MAX_RANK : s->rank, got, sizeof got),
                         rt_shape_str(m->params[i].plan, &t->shape, want, sizeof want));
            break;
        }
        size_t es = st_dtype_size(s->dtype);
        if (!m->dev->ops->host_memory) {
            /* uploaded once, here: every run then reads device memory */
            char why[300];
            void *dp = m->dev->ops->alloc(m->dev, s->nbytes);
            if (!dp) { rc = set_err(merr(m), LTC_ERR_NOMEM, "out of %s device memory for '%s' (%zu bytes)", m->dev->ops->name, t->name, s->nbytes); break; }
            dcopies[ndcopies++] = dp;
            ptr[i] = dp;
            if (s->nbytes && m->dev->ops->copy_to_device(m->dev, dp, s->data, s->nbytes, why, sizeof why) != 0) {
                rc = set_err(merr(m), LTC_ERR_WEIGHTS, "%s: uploading '%s': %s", what, t->name, why);
                break;
            }
        } else if (((uintptr_t)s->data % es) == 0) {
            ptr[i] = (void *)s->data;                      /* in place: the mapping is read-only */
        } else {
            size_t sz = (s->nbytes + 63) & ~(size_t)63;
            void *c = aligned_alloc(64, sz ? sz : 64);
            if (!c) { rc = set_err(merr(m), LTC_ERR_NOMEM, "out of memory copying '%s'", t->name); break; }
            memcpy(c, s->data, s->nbytes);
            ptr[i] = copies[ncopies++] = c;
        }
    }
    if (rc != 0) {
        for (int i = 0; i < ncopies; i++) free(copies[i]);
        for (int i = 0; i < ndcopies; i++) m->dev->ops->free(m->dev, dcopies[i]);
        free(copies); free(dcopies); free(ptr);
        st_close(f);
        return rc;
    }
    unbind(m);
    m->wf = *f;
    m->wf_open = true;
    m->copies = copies;
    m->ncopies = ncopies;
    m->dparams = dcopies;
    m->ndparams = ndcopies;
    for (int e = 0; e < m->nplans; e++) {
        const Plan *p = m->plans[e];
        for (int k = 0; k < p->nparams; k++)
            for (int i = 0; i < m->nparams; i++)
                if (strcmp(m->params[i].t->name, p->params[k].name) == 0) m->entries[e].prog.params[k] = ptr[i];
    }
    free(ptr);
    m->bound = true;
    /* A compile without --weights marks its file: warn, because outputs of
     * random weights look like a model's (docs/runtime.md). */
    const char *init = st_meta(&m->wf, ST_META_INIT);
    if (init && strcmp(init, ST_META_INIT_RANDOM) == 0)
        snprintf(m->weights_warning, sizeof m->weights_warning,
                 "%s: random initial weights (compiled without --weights): outputs are not a trained model's",
                 what);
    else
        m->weights_warning[0] = 0;
    /* Pre-packing runs once, here. */
    for (int e = 0; e < m->nplans; e++) {
        char why[400];
        if (rt_prepack(&m->entries[e].prog, m->dev, why, sizeof why) != 0) {
            unbind(m);
            return set_err(merr(m), LTC_ERR_WEIGHTS, "%s: pre-packing entry '%s': %s", what,
                           m->plans[e]->graph->name, why);
        }
    }
    return 0;
}

const char *ltc_model_weights_warning(const ltc_model *m) {
    return live(m) && m->bound && m->weights_warning[0] ? m->weights_warning : NULL;
}

int ltc_model_bind_weights_file(ltc_model *m, const char *path) {
    if (!live(m)) return -1;
    if (!path) return set_err(merr(m), LTC_ERR_ARG, "ltc_model_bind_weights_file: path is NULL");
    StFile f;
    char why[400];
    memset(&f, 0, sizeof f);
    pthread_mutex_lock(&m->mu);
    int rc;
    if (st_open(path, &f, why, sizeof why) != 0)
        rc = set_err(merr(m), LTC_ERR_WEIGHTS, "weights file '%s': %s", path, why);
    else {
        char what[600];
        snprintf(what, sizeof what, "weights file '%s'", path);
        rc = bind_from(m, &f, what);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int ltc_model_bind_weights_memory(ltc_model *m, const void *data, size_t len) {
    if (!live(m)) return -1;
    if (!data) return set_err(merr(m), LTC_ERR_ARG, "ltc_model_bind_weights_memory: data is NULL");
    StFile f;
    char why[400];
    memset(&f, 0, sizeof f);
    pthread_mutex_lock(&m->mu);
    int rc;
    if (st_open_memory(data, len, &f, why, sizeof why) != 0)
        rc = set_err(merr(m), LTC_ERR_WEIGHTS, "weights in memory: %s", why);
    else
        rc = bind_from(m, &f, "weights in memory");
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- running ------------------------------------------------------------------------- */
typedef struct Call {
    int entry;
    int64_t symvals[LTC_MAX_SYMS];
    void **in;                              /* ninputs data pointers (any number) */
    void **owned;                           /* contiguous copies of strided inputs */
    void **outs;                            /* noutputs data pointers */
    uint8_t *resident;                      /* ninputs + noutputs: 1 = in the device's memory (kDLCUDA) */
    int nowned;
} Call;

static void call_free(Call *c) {
    for (int i = 0; c->owned && i < c->nowned; i++) free(c->owned[i]);
    free(c->in); free(c->owned); free(c->outs); free(c->resident);
    c->in = c->owned = c->outs = NULL;
    c->resident = NULL;
    c->nowned = 0;
}

/* *resident: x is in the device's own memory (used in place), not host
 * memory the runtime stages. */
static int check_dl(ltc_model *m, const char *kind, const PlanTensor *t, const DLTensor *x, uint8_t *resident) {
    if (!x) return set_err(merr(m), LTC_ERR_ARG, "%s '%s': tensor is NULL", kind, t->name);
    /* the model's device says which memory its kernels can read; a device
     * without host memory also takes host tensors, through copies */
    const RtDeviceOps *ops = m->dev->ops;
    int type = (int)x->device.device_type;
    *resident = type == ops->dlpack_device_type && type != kDLCPU && !ops->host_memory;
    if (type != ops->dlpack_device_type && !(type == kDLCPU && !ops->host_memory)) {
        if (ops->host_memory || ops->dlpack_device_type == kDLCPU)
            return set_err(merr(m), LTC_ERR_DEVICE, "%s '%s': tensor is on device type %d, expected %s memory (device type %d)",
                           kind, t->name, type, ops->memory, ops->dlpack_device_type);
        return set_err(merr(m), LTC_ERR_DEVICE, "%s '%s': tensor is on device type %d, expected %s memory (device type %d) "
                       "or host memory (device type %d)", kind, t->name, type, ops->memory, ops->dlpack_device_type, kDLCPU);
    }
    if (*resident && x->device.device_id != m->dev->dl_device_id)
        return set_err(merr(m), LTC_ERR_DEVICE, "%s '%s': tensor is on %s %d, the model runs on %s %d", kind, t->name,
                       ops->memory, (int)x->device.device_id, ops->memory, m->dev->dl_device_id);
    DLDataType want = ltc_dtype_to_dl((ltc_dtype)t->dtype);
    DLDataType u8 = {kDLUInt, 8, 1};         /* older DLPack producers spell bool as uint8 */
    if (!rt_dl_dtype_eq(x->dtype, want) && !(t->dtype == DT_BOOL && rt_dl_dtype_eq(x->dtype, u8))) {
        char a[32], b[32];
        return set_err(merr(m), LTC_ERR_DTYPE, "%s '%s': expected dtype %s, got %s", kind, t->name,
                       rt_dl_dtype_str(want, a, sizeof a), rt_dl_dtype_str(x->dtype, b, sizeof b));
    }
    if (x->ndim < 0 || x->ndim > LTC_MAX_RANK || (x->ndim > 0 && !x->shape))
        return set_err(merr(m), LTC_ERR_SHAPE, "%s '%s': bad rank %d or NULL shape", kind, t->name, (int)x->ndim);
    int64_t n;
    if (!rt_numel(x->shape, x->ndim, &n))
        return set_err(merr(m), LTC_ERR_SHAPE, "%s '%s': negative or overflowing sizes", kind, t->name);
    if (n > 0 && !x->data) return set_err(merr(m), LTC_ERR_ARG, "%s '%s': data is NULL", kind, t->name);
    return 0;
}

static int prepare(ltc_model *m, const char *entry, const DLTensor *inputs, int nin, Call *c) {
    memset(c, 0, sizeof *c);
    c->entry = find_entry(m, entry);
    if (c->entry < 0) return set_err(merr(m), LTC_ERR_ARG, "no entry named '%s'", entry);
    const Plan *p = m->plans[c->entry];
    if (nin != p->ninputs)
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s' takes %d input%s, got %d", p->graph->name,
                       p->ninputs, p->ninputs == 1 ? "" : "s", nin);
    if (nin > 0 && !inputs) return set_err(merr(m), LTC_ERR_ARG, "entry '%s': inputs is NULL", p->graph->name);
    size_t nio = (size_t)(nin > p->noutputs ? nin : p->noutputs) + 1;   /* any number of inputs/outputs */
    c->in = calloc(nio, sizeof *c->in);
    c->owned = calloc(nio, sizeof *c->owned);
    c->outs = calloc(nio, sizeof *c->outs);
    c->resident = calloc((size_t)nin + (size_t)p->noutputs + 1, 1);
    int *ranks = calloc(nio, sizeof *ranks);
    const int64_t **shapes = calloc(nio, sizeof *shapes);
    if (!c->in || !c->owned || !c->outs || !c->resident || !ranks || !shapes) {
        free(ranks); free(shapes); call_free(c);
        return set_err(merr(m), LTC_ERR_NOMEM, "out of memory");
    }
    int rc = 0;
    for (int i = 0; i < nin && rc == 0; i++) {
        if (check_dl(m, "input", &p->inputs[i], &inputs[i], &c->resident[i])) rc = -1;
        else { ranks[i] = inputs[i].ndim; shapes[i] = inputs[i].shape; }
    }
    char why[480];
    if (rc == 0 && rt_bind_symbols(p, ranks, shapes, c->symvals, why, sizeof why) != 0)
        rc = set_err(merr(m), LTC_ERR_SHAPE, "%s", why);
    free(ranks);
    free(shapes);
    if (rc == 0 && plan_check_limits(p, c->symvals, why, sizeof why) != 0)
        rc = set_err(merr(m), LTC_ERR_SHAPE, "entry '%s': %s", p->graph->name, why);
    if (rc != 0) { call_free(c); return -1; }
    for (int i = 0; i < nin; i++) {
        const DLTensor *x = &inputs[i];
        size_t es = dtype_size(p->inputs[i].dtype);
        char *data = (char *)x->data + x->byte_offset;
        if (rt_is_contiguous(x) && (uintptr_t)data % es == 0) {
            c->in[i] = data;
            continue;
        }
        if (c->resident[i]) {       /* device memory: the host cannot gather it */
            call_free(c);
            return set_err(merr(m), LTC_ERR_LAYOUT, "input '%s': a tensor in %s memory must be C-contiguous and aligned",
                           p->inputs[i].name, m->dev->ops->memory);
        }
        /* A stride-0 view may describe far more elements than its memory
         * holds (2^62 floats of one value): n * es must not wrap. */
        int64_t n;
        size_t bytes, alloc;
        if (!rt_numel(x->shape, x->ndim, &n) || __builtin_mul_overflow((uint64_t)n, es, &bytes) ||
            __builtin_add_overflow(bytes, (size_t)64, &alloc)) {
            call_free(c);
            return set_err(merr(m), LTC_ERR_SHAPE, "input '%s': %s elements do not fit in memory",
                           p->inputs[i].name, dims_str(x->shape, x->ndim, why, sizeof why));
        }
        if (x->strides && !rt_strides_ok(x, es)) {
            call_free(c);
            return set_err(merr(m), LTC_ERR_LAYOUT, "input '%s': strides address more than 2^63 bytes",
                           p->inputs[i].name);
        }
        void *copy = malloc(alloc);
        if (!copy) { call_free(c); return set_err(merr(m), LTC_ERR_NOMEM, "out of memory copying input '%s'", p->inputs[i].name); }
        if (!x->strides)                       /* contiguous but misaligned */
            memcpy(copy, data, bytes);
        else
            rt_copy_strided(x, es, copy);
        c->in[i] = c->owned[c->nowned++] = copy;
    }
    return 0;
}

static int execute(ltc_model *m, Call *c, void *const *outs) {
    Entry *e = &m->entries[c->entry];
    const Plan *p = e->prog.plan;
    if (p->nparams && !m->bound)
        return set_err(merr(m), LTC_ERR_WEIGHTS, "entry '%s': weights are not bound (parameter '%s'); call ltc_model_bind_weights_file",
                       p->graph->name, p->params[0].name);
    char why[480];
    /* Every run advances the counter (as a torch generator advances on
     * every draw), whichever entry it runs and whether or not it fails. */
    e->prog.call = m->calls++;
    if (rt_run_placed(&e->prog, m->dev, &m->scratch, c->symvals, c->in, outs, c->resident, why, sizeof why) != 0)
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s': %s", p->graph->name, why);
    return 0;
}

/* The number of outputs a run was given, and that they were given. */
static int check_outputs_arg(ltc_model *m, const Plan *p, bool given, int nout) {
    if (nout != p->noutputs)
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s' has %d output%s, got %d", p->graph->name,
                       p->noutputs, p->noutputs == 1 ? "" : "s", nout);
    if (nout > 0 && !given) return set_err(merr(m), LTC_ERR_ARG, "entry '%s': outputs is NULL", p->graph->name);
    return 0;
}

/* Where a run's outputs go: the caller's tensors (checked) or new ones. */
typedef int (*OutputFn)(ltc_model *m, const Plan *p, const Call *c, int i, void *ctx, void **out);

/* The one body of ltc_model_run and ltc_model_run_alloc: checks, outputs
 * through get, the run. */
static int run_with(ltc_model *m, const char *entry, const DLTensor *inputs, int nin, int nout, bool have,
                    OutputFn get, void *ctx) {
    pthread_mutex_lock(&m->mu);
    clear_err(merr(m));
    Call c;
    int rc = prepare(m, entry, inputs, nin, &c);
    if (rc == 0) {
        const Plan *p = m->plans[c.entry];
        rc = check_outputs_arg(m, p, have, nout);
        for (int i = 0; rc == 0 && i < nout; i++) rc = get(m, p, &c, i, ctx, &c.outs[i]);
        if (rc == 0) rc = execute(m, &c, c.outs);
        call_free(&c);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* output i is the caller's tensor: right device, dtype, shape and layout */
static int caller_output(ltc_model *m, const Plan *p, const Call *c, int i, void *ctx, void **out) {
    const PlanTensor *t = &p->outputs[i];
    DLTensor *y = &((DLTensor *)ctx)[i];
    int rc = check_dl(m, "output", t, y, &c->resident[p->ninputs + i]);
    if (rc) return rc;
    int64_t want[LTC_MAX_RANK];
    char a[256], b[256];
    bool ok = plan_tensor_dims(t, c->symvals, want) == 0 && y->ndim == t->shape.rank;
    for (int d = 0; ok && d < y->ndim; d++) ok = y->shape[d] == want[d];
    if (!ok)
        return set_err(merr(m), LTC_ERR_SHAPE, "output '%s': expected shape %s, got %s", t->name,
                       dims_str(want, t->shape.rank, a, sizeof a), dims_str(y->shape, y->ndim, b, sizeof b));
    char *data = (char *)y->data + y->byte_offset;
    if (!rt_is_contiguous(y) || (uintptr_t)data % dtype_size(t->dtype) != 0)
        return set_err(merr(m), LTC_ERR_LAYOUT, "output '%s': memory must be C-contiguous and aligned", t->name);
    *out = data;
    return 0;
}

/* output i is a new tensor of its shape at this call */
static int new_output(ltc_model *m, const Plan *p, const Call *c, int i, void *ctx, void **out) {
    DLTensor **outputs = ctx;
    int64_t shape[LTC_MAX_RANK];
    if (plan_tensor_dims(&p->outputs[i], c->symvals, shape) != 0 ||
        !(outputs[i] = ltc_tensor_alloc((ltc_dtype)p->outputs[i].dtype, p->outputs[i].shape.rank, shape)))
        return set_err(merr(m), LTC_ERR_NOMEM, "cannot allocate output '%s'", p->outputs[i].name);
    *out = outputs[i]->data;
    return 0;
}

int ltc_model_run(ltc_model *m, const char *entry, const DLTensor *inputs, int nin,
                  DLTensor *outputs, int nout) {
    if (!live(m)) return -1;
    return run_with(m, entry, inputs, nin, nout, outputs != NULL, caller_output, outputs);
}

int ltc_model_run_alloc(ltc_model *m, const char *entry, const DLTensor *inputs, int nin,
                        DLTensor **outputs, int nout) {
    if (!live(m)) return -1;
    if (outputs)
        for (int i = 0; i < nout; i++) outputs[i] = NULL;
    int rc = run_with(m, entry, inputs, nin, nout, outputs != NULL, new_output, outputs);
    if (rc != 0 && outputs)
        for (int i = 0; i < nout; i++) { ltc_tensor_free(outputs[i]); outputs[i] = NULL; }
    return rc;
}

/* The shape half of prepare(): the same symbol binding and size limits,
 * from shapes alone, so a host can allocate the outputs before a run (the
 * Python package does) and a shape accepted here passes run's shape checks.
 * Plans are immutable after open, so no lock is taken (as for the other
 * metadata calls). */
_Static_assert(LTC_MAX_NDIM == LTC_MAX_RANK, "the public and internal rank limits differ");

int ltc_model_output_shapes(const ltc_model *m, const char *entry, const int64_t *const *in_shapes,
                            const int *in_ndims, int nin, int64_t (*out_shapes)[LTC_MAX_NDIM], int nout) {
    if (!live(m)) return -1;
    clear_err(merr(m));
    int e = find_entry(m, entry);
    if (e < 0) return set_err(merr(m), LTC_ERR_ARG, "no entry named '%s'", entry ? entry : "(null)");
    const Plan *p = m->plans[e];
    const char *name = p->graph->name;
    if (nin != p->ninputs)
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s' takes %d input%s, got %d", name, p->ninputs,
                       p->ninputs == 1 ? "" : "s", nin);
    if (nout != p->noutputs)
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s' has %d output%s, got %d", name, p->noutputs,
                       p->noutputs == 1 ? "" : "s", nout);
    if ((nin > 0 && (!in_shapes || !in_ndims)) || (nout > 0 && !out_shapes))
        return set_err(merr(m), LTC_ERR_ARG, "entry '%s': NULL shapes array", name);
    for (int i = 0; i < nin; i++) {
        int64_t n;
        if (in_ndims[i] < 0 || in_ndims[i] > LTC_MAX_RANK || (in_ndims[i] > 0 && !in_shapes[i]))
            return set_err(merr(m), LTC_ERR_SHAPE, "input '%s': bad rank %d or NULL shape", p->inputs[i].name, in_ndims[i]);
        if (!rt_numel(in_shapes[i], in_ndims[i], &n))
            return set_err(merr(m), LTC_ERR_SHAPE, "input '%s': negative or overflowing sizes", p->inputs[i].name);
    }
    int64_t symvals[LTC_MAX_SYMS];
    char why[480];
    if (rt_bind_symbols(p, in_ndims, in_shapes, symvals, why, sizeof why) != 0)
        return set_err(merr(m), LTC_ERR_SHAPE, "%s", why);
    if (plan_check_limits(p, symvals, why, sizeof why) != 0)
        return set_err(merr(m), LTC_ERR_SHAPE, "entry '%s': %s", name, why);
    for (int i = 0; i < nout; i++) {
        int64_t dims[LTC_MAX_RANK];
        if (plan_tensor_dims(&p->outputs[i], symvals, dims) != 0)
            return set_err(merr(m), LTC_ERR_SHAPE, "output '%s': its size overflows for these inputs", p->outputs[i].name);
        for (int d = 0; d < LTC_MAX_NDIM; d++) out_shapes[i][d] = d < p->outputs[i].shape.rank ? dims[d] : 0;
    }
    return 0;
}

uint64_t ltc_model_call_count(const ltc_model *m) { return live(m) ? m->calls : 0; }

int ltc_model_set_call_count(ltc_model *m, uint64_t calls) {
    if (!live(m)) return -1;
    pthread_mutex_lock(&m->mu);
    m->calls = calls;
    pthread_mutex_unlock(&m->mu);
    return 0;
}
