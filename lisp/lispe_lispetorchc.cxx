/* lispe_lispetorchc.cxx: the embedding API (lispetorchc/embed.h) as a
 * LispE library, for the real LispE interpreter: `(use 'lispetorchc)`
 * loads liblispetorchc.so and calls InitialisationModule, LispE's entry
 * point for extension libraries.
 *
 *   (ltc_compile source (name) (options))  -> a module (ltc_module_)
 *   (ltc_compile_file path (options))      -> a module
 *   (ltc_entries module)                   -> the entry names (strings)
 *   (ltc_bind_weights module path)         -> true
 *   (ltc_run module entry inputs)          -> the outputs
 *
 * options is a dictionary with the keys of ltc_compile_options: "target",
 * "dtype", "weights" (strings), "entries" (a list of names), "seed",
 * "threads", "opt_level" (integers).  A tensor crosses as a list
 * (shape data): shape an integers list, data a floats list of the
 * element count, in C order; inputs is a list of them, and ltc_run
 * returns one per output.  Only float32 tensors cross (lispe_torch's
 * tensors are libtorch objects this library does not link).
 *
 * A compile that fails raises a LispE error whose text is every record
 * of the compile, one per line (file:line:col: severity: message).
 *
 * Built only with -DLISPE_DIR=... (CMakeLists.txt), never built or run by
 * this project's tests: see docs/embedding.md. */
#include "lispe.h"

#include <string>
#include <vector>

extern "C" {
#include "lispetorchc/embed.h"
}

static int16_t ltc_module_type = 0;

/* The opaque LispE value holding a module: freed with the value. */
class LtcModuleValue : public Element {
public:
    ltc_module *module;

    explicit LtcModuleValue(ltc_module *m) : Element(ltc_module_type), module(m) {}
    ~LtcModuleValue() { ltc_module_free(module); }

    /* a module is never copied: every holder shares the one value */
    Element *copying(bool duplicate) { return this; }
    wstring asString(LispE *lisp) { return L"ltc_module_"; }
};

enum LtcAction { ltc_act_compile, ltc_act_compile_file, ltc_act_entries, ltc_act_bind, ltc_act_run };

/* The records of a compile as the text of one LispE error. */
static std::string diags_text(const ltc_diags *ds) {
    static const char *const sev[] = {"error", "warning", "note"};
    std::string s;
    for (size_t i = 0; i < ltc_diags_count(ds); i++) {
        const ltc_diag *g = ltc_diags_get(ds, i);
        if (!s.empty()) s += "\n";
        if (g->file) s += std::string(g->file) + ":" + std::to_string(g->line) + ":" + std::to_string(g->col) + ": ";
        s += std::string(sev[g->severity]) + ": " + g->message;
    }
    return s.empty() ? std::string("lispetorchc: the compile failed") : s;
}

/* Options from a LispE dictionary (null_: the defaults).  The strings
 * live in `keep` as long as the compile. */
/* The value of `key` in a LispE dictionary, or null_. */
static Element *option(Element *d, const u_ustring &key) {
    for (const auto &kv : ((Dictionary *)d)->dictionary)
        if (kv.first == key) return kv.second;
    return null_;
}

/* Options from a LispE dictionary (null_: the defaults).  The strings
 * live in `keep` as long as the compile. */
static void read_options(LispE *lisp, Element *d, ltc_compile_options *o, std::vector<std::string> &keep,
                         std::vector<const char *> &entries) {
    ltc_compile_options_init(o);
    if (d == null_) return;
    if (!d->isDictionary()) throw new Error("lispetorchc: the options must be a dictionary");
    keep.reserve(3 + LTC_EMBED_MAX_ENTRIES);        /* no reallocation: c_str()s stay valid */
    Element *v;
    if ((v = option(d, U"target")) != null_) { keep.push_back(v->toString(lisp)); o->target = keep.back().c_str(); }
    if ((v = option(d, U"dtype")) != null_) { keep.push_back(v->toString(lisp)); o->dtype = keep.back().c_str(); }
    if ((v = option(d, U"weights")) != null_) { keep.push_back(v->toString(lisp)); o->weights = keep.back().c_str(); }
    if ((v = option(d, U"seed")) != null_) o->seed = (uint64_t)v->asInteger();
    if ((v = option(d, U"threads")) != null_) o->threads = (int)v->asInteger();
    if ((v = option(d, U"opt_level")) != null_) o->opt_level = (int)v->asInteger();
    if ((v = option(d, U"entries")) != null_) {
        if (!v->isList()) throw new Error("lispetorchc: options 'entries' must be a list of names");
        long n = v->size();
        if (n > LTC_EMBED_MAX_ENTRIES) throw new Error("lispetorchc: at most 16 entries");
        for (long i = 0; i < n; i++) {
            keep.push_back(v->index(i)->toString(lisp));
            entries.push_back(keep.back().c_str());
        }
        o->entries = entries.data();
        o->nentries = (int)n;
    }
}

static Element *compile(LispE *lisp, bool from_file) {
    ltc_compile_options o;
    std::vector<std::string> keep;
    std::vector<const char *> entries;
    read_options(lisp, lisp->get_variable(U"options"), &o, keep, entries);
    ltc_diags *ds = NULL;
    ltc_module *m;
    if (from_file) {
        std::string path = lisp->get_variable(U"path")->toString(lisp);
        m = ltc_module_compile_file(path.c_str(), &o, &ds);
    } else {
        std::string src = lisp->get_variable(U"source")->toString(lisp);
        Element *n = lisp->get_variable(U"name");
        std::string name = n == null_ ? std::string("<source>") : n->toString(lisp);
        m = ltc_module_compile_source(src.data(), src.size(), name.c_str(), &o, &ds);
    }
    if (!m) {
        std::string why = diags_text(ds);
        ltc_diags_free(ds);
        throw new Error(why);
    }
    ltc_diags_free(ds);
    return new LtcModuleValue(m);
}

static ltc_module *module_arg(LispE *lisp) {
    Element *e = lisp->get_variable(U"module");
    if (e->type != ltc_module_type) throw new Error("lispetorchc: expecting a module (ltc_compile's value)");
    return ((LtcModuleValue *)e)->module;
}

/* One input tensor (shape data): its shape and a copy of its values. */
struct InputTensor {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

static void read_tensor(Element *t, InputTensor &out) {
    if (!t->isList() || t->size() != 2) throw new Error("lispetorchc: a tensor is a list (shape data)");
    Element *shape = t->index(0), *data = t->index(1);
    if (!shape->isList() || !data->isList()) throw new Error("lispetorchc: a tensor is a list (shape data)");
    if (shape->size() > LTC_MAX_NDIM) throw new Error("lispetorchc: a tensor has at most 8 dimensions");
    int64_t count = 1;
    for (long i = 0; i < shape->size(); i++) {
        long d = shape->index(i)->asInteger();
        if (d < 0 || (d > 0 && count > INT64_MAX / d)) throw new Error("lispetorchc: a bad tensor shape");
        out.shape.push_back(d);
        count *= d;
    }
    if ((int64_t)data->size() != count)
        throw new Error("lispetorchc: the tensor's data has " + std::to_string(data->size()) +
                        " values, its shape " + std::to_string(count));
    out.data.resize((size_t)count);
    for (long i = 0; i < data->size(); i++) out.data[(size_t)i] = data->index(i)->asFloat();
}

static Element *run(LispE *lisp) {
    ltc_module *m = module_arg(lisp);
    std::string entry = lisp->get_variable(U"entry")->toString(lisp);
    Element *ins = lisp->get_variable(U"inputs");
    if (!ins->isList()) throw new Error("lispetorchc: inputs must be a list of (shape data) tensors");
    long nin = ins->size();
    std::vector<InputTensor> held((size_t)nin);
    std::vector<DLTensor> in((size_t)nin);
    for (long i = 0; i < nin; i++) {
        read_tensor(ins->index(i), held[(size_t)i]);
        DLTensor &t = in[(size_t)i];
        t = DLTensor();
        t.data = held[(size_t)i].data.data();
        t.device.device_type = kDLCPU;
        t.ndim = (int32_t)held[(size_t)i].shape.size();
        t.dtype = ltc_dtype_to_dl(LTC_F32);
        t.shape = held[(size_t)i].shape.data();
    }
    int nout = ltc_model_num_outputs(ltc_module_model(m), entry.c_str());
    if (nout < 0) throw new Error(std::string("lispetorchc: ") + ltc_module_last_error(m));
    std::vector<DLTensor *> out((size_t)nout, (DLTensor *)NULL);
    if (ltc_module_run_alloc(m, entry.c_str(), in.data(), (int)nin, out.data(), nout) != 0)
        throw new Error(std::string("lispetorchc: ") + ltc_module_last_error(m));
    List *result = lisp->provideList();
    for (int k = 0; k < nout; k++) {
        DLTensor *t = out[(size_t)k];
        Integers *shape = lisp->provideIntegers();
        int64_t count = 1;
        for (int d = 0; d < t->ndim; d++) { shape->liste.push_back(t->shape[d]); count *= t->shape[d]; }
        Floats *data = lisp->provideFloats();
        const float *p = (const float *)t->data;
        for (int64_t i = 0; i < count; i++) data->liste.push_back(p[i]);
        List *pair = lisp->provideList();
        pair->append(shape);
        pair->append(data);
        result->append(pair);
        ltc_tensor_free(t);
    }
    return result;
}

class LispeLtc : public Element {
public:
    LtcAction action;
    explicit LispeLtc(LtcAction a) : Element(l_lib), action(a) {}

    Element *eval(LispE *lisp) {
        switch (action) {
        case ltc_act_compile: return compile(lisp, false);
        case ltc_act_compile_file: return compile(lisp, true);
        case ltc_act_entries: {
            ltc_module *m = module_arg(lisp);
            List *names = lisp->provideList();
            for (int i = 0; i < ltc_module_num_entries(m); i++) names->append(lisp->provideString(ltc_module_entry_name(m, i)));
            return names;
        }
        case ltc_act_bind: {
            ltc_module *m = module_arg(lisp);
            std::string path = lisp->get_variable(U"path")->toString(lisp);
            if (ltc_module_bind_weights_file(m, path.c_str()) != 0)
                throw new Error(std::string("lispetorchc: ") + ltc_module_last_error(m));
            return True_;
        }
        case ltc_act_run: return run(lisp);
        }
        return null_;
    }

    wstring asString(LispE *lisp) {
        switch (action) {
        case ltc_act_compile: return L"Compile LispE source text into a lispetorchc module";
        case ltc_act_compile_file: return L"Compile a LispE file into a lispetorchc module";
        case ltc_act_entries: return L"The entry names of a lispetorchc module";
        case ltc_act_bind: return L"Bind a safetensors file as a module's weights";
        case ltc_act_run: return L"Run an entry of a module on (shape data) float tensors";
        }
        return L"lispetorchc";
    }
};

extern "C" {
Exporting bool InitialisationModule(LispE *lisp) {
    ltc_module_type = lisp->provideAtom(U"ltc_module_")->label();
    lisp->extension("deflib ltc_compile (source (name) (options))", new LispeLtc(ltc_act_compile));
    lisp->extension("deflib ltc_compile_file (path (options))", new LispeLtc(ltc_act_compile_file));
    lisp->extension("deflib ltc_entries (module)", new LispeLtc(ltc_act_entries));
    lisp->extension("deflib ltc_bind_weights (module path)", new LispeLtc(ltc_act_bind));
    lisp->extension("deflib ltc_run (module entry inputs)", new LispeLtc(ltc_act_run));
    return true;
}
}
