/* options.c: the command-line grammar (documented in docs/cli.md).
 *
 * Options may appear before or after the script.  Long options take their
 * value as `--opt VALUE` or `--opt=VALUE`; `-o` also as `-oFILE`.  `--`
 * ends the options.  `run` as the first argument selects the run command. */
#include "driver/driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/passes/passes.h"

#if defined(__has_include)
#if __has_include(<llvm-c/Core.h>)
#include <llvm-c/Core.h>
#include "codegen/backend.h"
#include "codegen/cpu/targets.h"
#define HAVE_LLVM_C 1
#endif
#endif

/* Options with what they take and which command accepts them. */
enum { ARG_NONE, ARG_VALUE };
enum { FOR_COMPILE = 1, FOR_RUN = 2, FOR_BOTH = 3 };

typedef struct OptSpec { const char *name; int arg; int cmds; } OptSpec;

static const OptSpec specs[] = {
    {"-o", ARG_VALUE, FOR_COMPILE},
    {"--emit", ARG_VALUE, FOR_COMPILE},
    {"--entry", ARG_VALUE, FOR_COMPILE},
    {"--save-weights", ARG_VALUE, FOR_COMPILE},
    {"--weights", ARG_VALUE, FOR_BOTH},
    {"--save-tensors", ARG_VALUE, FOR_RUN},
    {"--seed", ARG_VALUE, FOR_BOTH},
    {"--static", ARG_NONE, FOR_COMPILE},
    {"--dynamic", ARG_VALUE, FOR_COMPILE},
    {"--train", ARG_NONE, FOR_BOTH},
    {"--interpret", ARG_NONE, FOR_RUN},
    {"--strict", ARG_NONE, FOR_RUN},
    {"--no-cache", ARG_NONE, FOR_BOTH},
    {"--jit", ARG_VALUE, FOR_RUN},
    {"-O0", ARG_NONE, FOR_COMPILE},
    {"-O1", ARG_NONE, FOR_COMPILE},
    {"-O2", ARG_NONE, FOR_COMPILE},
    {"-O3", ARG_NONE, FOR_COMPILE},
    {"-v", ARG_NONE, FOR_BOTH},
    {"--verbose", ARG_NONE, FOR_BOTH},
    {"--time-passes", ARG_NONE, FOR_BOTH},
    {"--color", ARG_VALUE, FOR_BOTH},
    {"--help", ARG_NONE, FOR_BOTH},
    {"-h", ARG_NONE, FOR_BOTH},
    {"--version", ARG_NONE, FOR_BOTH},
    {"--no-fuse", ARG_VALUE, FOR_COMPILE},
    {"--dump-after", ARG_VALUE, FOR_COMPILE},
    {"--target", ARG_VALUE, FOR_BOTH},
    {"--dtype", ARG_VALUE, FOR_COMPILE},
    {"--cpu", ARG_VALUE, FOR_BOTH},
    {"--features", ARG_VALUE, FOR_BOTH},
    {"--gpu-arch", ARG_VALUE, FOR_COMPILE},
    {"--embed-weights", ARG_NONE, FOR_COMPILE},
    {"--check", ARG_NONE, FOR_COMPILE},
    {"--depfile", ARG_VALUE, FOR_COMPILE},
    {"--threads", ARG_VALUE, FOR_BOTH},
    {"--max-steps", ARG_VALUE, FOR_BOTH},
    {"--timeout", ARG_VALUE, FOR_BOTH},
    {"--max-memory", ARG_VALUE, FOR_BOTH},
};
enum { NSPECS = sizeof specs / sizeof specs[0] };

/* Emit kinds: those the driver handles itself, then the backend's. */
static const char *const emit_kinds[] = {"ir", "dot", "weights", "llvm", "asm", "obj", "fusion", "plan", "kernels",
                                           "opencl", "metal", "cuda", "ptx"};
enum { NEMIT = sizeof emit_kinds / sizeof emit_kinds[0] };

void driver_print_help(FILE *f) {
    fputs("OVERVIEW: lispetorchc " LTC_VERSION " - compile LispE/lispe_torch transformer models to native kernels\n"
          "\n"
          "USAGE: lispetorchc [options] model.lsp            compile a model\n"
          "       lispetorchc run [options] script.lsp       run a script (println to stdout)\n"
          "       lispetorchc run [options] -                run the script on standard input\n"
          "       lispetorchc repl [options]                 interactive session (run's options)\n"
          "       lispetorchc cache [show|prune [--max BYTES]|clear]   the JIT's disk cache\n"
          "\n"
          "COMPILE OPTIONS:\n"
          "  -o FILE               output file ('-' = stdout; default: stdout for text,\n"
          "                        MODEL.so for a library). All outputs are renamed into\n"
          "                        place only when the whole compile succeeded.\n"
          "  --emit KIND           ir | dot | weights | llvm | asm | obj | fusion | plan |\n"
          "                        kernels | opencl (--target opencl) | metal\n"
          "                        (--target metal) | cuda | ptx (--target cuda)\n"
          "  --entry NAME          function to compile (repeatable; default: the last user\n"
          "                        function called at top level with tensor arguments)\n"
          "  --save-weights FILE   write the entries' parameters as safetensors\n"
          "  --weights FILE        load parameter values from a safetensors file\n"
          "  --static              trace with concrete shapes (no symbolic dimensions)\n"
          "  --dynamic NAME:AXIS   make that dim of input NAME symbolic (repeatable)\n"
          "  -O0 .. -O3            optimisation level (default -O2)\n"
          "  --dtype T             f32 (default) | bf16 | f16: the model's float tensors\n"
          "                        (weights, activations) in T, fp32 accumulation\n"
          "  --embed-weights       bake the weights into the library (default: they are\n"
          "                        written to MODEL.safetensors beside MODEL.so)\n"
          "  --no-fuse=PASS        switch one fusion pass off (simplify, attention, causal,\n"
          "                        qkv, epilogue, addnorm); repeatable\n"
          "  --dump-after=PASS     print the IR after PASS ('all': after every pass)\n"
          "  --check               trace and plan the entries (passes, lowering), generate\n"
          "                        no code and write nothing: a lint for CI\n"
          "  --depfile FILE        also write a Make rule: the output depends on the script,\n"
          "                        every file it loads and --weights (for build systems)\n"
          "\n"
          "RUN OPTIONS:\n"
          "  --save-tensors FILE   at the end, save every tensor reachable from the globals\n"
          "  --interpret           run every value with the reference interpreter instead\n"
          "                        of JIT-compiled kernels\n"
          "  --strict              a region the JIT cannot compile is an error (without it:\n"
          "                        a note naming the op, and the interpreter computes it)\n"
          "  --no-cache            neither read nor write the disk cache (regions, model.so)\n"
          "                        (also LTC_CACHE=off; LTC_LOG=jit logs each region)\n"
          "  --jit=UNIT            what the JIT compiles: 'functions' (default: each call of\n"
          "                        a function with tensor arguments, traced, one compile\n"
          "                        for every size; and the regions of what runs eagerly)\n"
          "                        or 'regions' (only the values a script asks for)\n"
          "\n"
          "COMMON OPTIONS:\n"
          "  --seed N              random seed (default 0)\n"
          "  --target NAME         code generator: cpu (default; the registered targets\n"
          "                        are listed by --version)\n"
          "  --cpu NAME            target CPU: native (default), x86-64-v3, x86-64-v4, ...\n"
          "  --features LIST       target features, e.g. +avx2,+fma,-avx512f\n"
          "  --gpu-arch LIST       --target cuda: PTX and cubins to embed, e.g.\n"
          "                        compute_80,sm_80,sm_90a (the default)\n"
          "  --threads N           threads for compiled kernels (default: all cores)\n"
          "  --max-steps N         stop the evaluation after N steps (default 1000000000;\n"
          "                        0 = no limit)\n"
          "  --timeout SECONDS     stop the evaluation after that wall time (default: none)\n"
          "  --max-memory MB       stop the evaluation when its values take more (default:\n"
          "                        none)\n"
          "  --train               training mode (dropout active)\n"
          "  -v, --verbose         progress lines; println output shown while compiling\n"
          "  --time-passes         per-phase times on stderr\n"
          "  --color=WHEN          auto | always | never (default auto; NO_COLOR honoured)\n"
          "  -h, --help            this text\n"
          "  --version             version information\n"
          "\n"
          "REPL: each complete form (parentheses balanced) is evaluated and its value\n"
          "printed; errors do not end the session; Ctrl-D, (quit) or :quit leave.\n"
          "History: $LTC_HISTORY, else $XDG_STATE_HOME/lispetorchc/history, else\n"
          "~/.lispetorchc_history.  Line editing: ",
          f);
    fputs(line_input_kind(), f);
    fputs("\n\n"
          "Exit status: 0 success, 1 error in the script or its files, 2 usage error.\n"
          "See docs/cli.md.\n",
          f);
}

void driver_print_version(FILE *f) {
    fprintf(f, "lispetorchc " LTC_VERSION "\n");
    fprintf(f, "REPL line editing: %s\n", line_input_kind());
#ifdef HAVE_LLVM_C
    unsigned maj = 0, min = 0, pat = 0;
    LLVMGetVersion(&maj, &min, &pat);
    fprintf(f, "LLVM version %u.%u.%u\n", maj, min, pat);
    int n;
    const char *const *names = backend_names(&n);
    fprintf(f, "Targets:\n");
    for (int i = 0; i < n; i++) fprintf(f, "  %-8s %s\n", names[i], backend_what(names[i]));
#else
    fprintf(f, "LLVM version 16 (backend not linked in this build)\n");
#endif
}

static const OptSpec *find_spec(const char *name) {
    for (int i = 0; i < NSPECS; i++)
        if (strcmp(specs[i].name, name) == 0) return &specs[i];
    return NULL;
}

static int usage(Driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(Driver *d, const char *fmt, ...) {
    bool c = d->o.color;
    fprintf(d->err, "%slispetorchc: %serror:%s ", c ? "\033[1m" : "", c ? "\033[1;31m" : "", c ? "\033[0m" : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->err, fmt, ap);
    va_end(ap);
    fputs("\n", d->err);
    return EXIT_USAGE;
}

static int unknown_option(Driver *d, const char *opt) {
    if (strncmp(opt, "-O", 2) == 0)
        return usage(d, "invalid optimisation level '%s' (expected -O0, -O1, -O2 or -O3)", opt);
    const char *names[NSPECS];
    for (int i = 0; i < NSPECS; i++) names[i] = specs[i].name;
    char base[128];
    snprintf(base, sizeof base, "%s", opt);
    char *eq = strchr(base, '=');
    if (eq) *eq = 0;
    const char *hint = name_closest(base, names, NSPECS);
    if (hint) return usage(d, "unknown option '%s'; did you mean '%s'?", opt, hint);
    return usage(d, "unknown option '%s' (see --help)", opt);
}

/* --no-fuse / --dump-after name a pass of ir/passes/pipeline.c: a typo is a
 * usage error now (exit 2), not a failure after the whole evaluation. */
static int check_pass_name(Driver *d, const char *opt, const char *val, bool can_all) {
    const char *const *names = passes_names();
    const char *cands[32];
    int n = 0;
    bool known = can_all && strcmp(val, "all") == 0;
    for (int i = 0; names[i] && n < 31; i++) {
        /* dce and dtype are not fusions and always run */
        if (!can_all && !passes_can_disable(names[i])) {
            if (strcmp(val, names[i]) == 0) return usage(d, "%s: pass '%s' cannot be disabled", opt, names[i]);
            continue;
        }
        cands[n++] = names[i];
        known = known || strcmp(val, names[i]) == 0;
    }
    if (can_all) cands[n++] = "all";
    if (known) return 0;
    const char *hint = name_closest(val, cands, n);
    if (hint) return usage(d, "%s: unknown pass '%s'; did you mean '%s'?", opt, val, hint);
    StrBuf b = {0};
    for (int i = 0; i < n; i++) sb_printf(&b, "%s%s", i ? ", " : "", cands[i]);
    int rc = usage(d, "%s: unknown pass '%s' (expected %s)", opt, val, b.s ? b.s : "");
    sb_free(&b);
    return rc;
}

/* --cpu / --features: LLVM ignores a name it does not know (with a line on
 * stderr) and would build for a generic CPU, so a typo is a usage error
 * here, against LLVM 16's x86-64 names (codegen/cpu/targets.c). */
static int check_target(Driver *d, const char *cpu, const char *features) {
#if defined(HAVE_LLVM_C) && defined(__x86_64__)
    int n;
    const char *const *names = cpu_x86_names(&n);
    if (cpu && strcmp(cpu, "native") != 0) {
        bool known = false;
        for (int i = 0; i < n && !known; i++) known = strcmp(names[i], cpu) == 0;
        if (!known) {
            const char *hint = name_closest(cpu, names, n);
            if (hint) return usage(d, "unknown CPU '%s' for --cpu; did you mean '%s'?", cpu, hint);
            return usage(d, "unknown CPU '%s' for --cpu (e.g. native, x86-64-v3, x86-64-v4, skylake, znver3)", cpu);
        }
    }
    const char *const *feats = cpu_x86_features(&n);
    for (const char *p = features ? features : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (len < 2 || len >= sizeof name || (p[0] != '+' && p[0] != '-'))
            return usage(d, "invalid --features item '%.*s' (expected +NAME or -NAME, e.g. +avx2,-avx512f)",
                         (int)(len < 200 ? len : 200), p);
        memcpy(name, p + 1, len - 1);
        name[len - 1] = 0;
        bool known = false;
        for (int i = 0; i < n && !known; i++) known = strcmp(feats[i], name) == 0;
        if (!known) {
            const char *hint = name_closest(name, feats, n);
            if (hint) return usage(d, "unknown CPU feature '%s' in --features; did you mean '%s'?", name, hint);
            return usage(d, "unknown CPU feature '%s' in --features", name);
        }
        p += len;
        if (*p == ',') p++;
    }
#else
    (void)d, (void)cpu, (void)features;
#endif
    return 0;
}

/* --target: a backend of the registry (codegen/backends.def). */
static int check_backend_name(Driver *d, const char *name) {
#ifdef HAVE_LLVM_C
    int n;
    const char *const *names = backend_names(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 0;
    StrBuf list = {0};
    for (int i = 0; i < n; i++) sb_printf(&list, "%s%s", i ? ", " : "", names[i]);
    const char *hint = name_closest(name, names, n);
    int rc = hint ? usage(d, "unknown target '%s' for --target; did you mean '%s'? (targets: %s)", name, hint, list.s)
                  : usage(d, "unknown target '%s' for --target (targets: %s)", name, list.s);
    sb_free(&list);
    return rc;
#else
    return usage(d, "--target %s: no code generator in this build", name);
#endif
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s || *s == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

/* cache [show | prune [--max BYTES] | clear] */
static int parse_cache_args(Driver *d, int argc, char **argv) {
    Options *o = &d->o;
    o->cmd = CMD_CACHE;
    o->cache_action = "show";
    int i = 2;
    if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) { o->help = true; return 0; }
    if (i < argc) {
        static const char *const acts[] = {"show", "prune", "clear"};
        int k = 0;
        while (k < 3 && strcmp(argv[i], acts[k]) != 0) k++;
        if (k == 3) {
            const char *hint = name_closest(argv[i], acts, 3);
            if (hint) return usage(d, "unknown cache action '%s'; did you mean '%s'? (show, prune, clear)", argv[i], hint);
            return usage(d, "unknown cache action '%s' (show, prune, clear)", argv[i]);
        }
        o->cache_action = acts[k];
        i++;
    }
    for (; i < argc; i++) {
        if (strcmp(o->cache_action, "prune") == 0 && strncmp(argv[i], "--max", 5) == 0 &&
            (argv[i][5] == '\0' || argv[i][5] == '=')) {
            const char *val = argv[i][5] == '=' ? argv[i] + 6 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val) return usage(d, "option '--max' needs a value");
            if (parse_u64(val, &o->cache_max) != 0)
                return usage(d, "invalid value '%s' for --max (expected a size in bytes)", val);
            o->cache_max_set = true;
            continue;
        }
        return usage(d, "unexpected argument '%s' for 'cache %s'", argv[i], o->cache_action);
    }
    return 0;
}

int driver_parse_args(Driver *d, int argc, char **argv) {
    Options *o = &d->o;
    o->opt_level = 2;
    o->max_steps = DRV_DEFAULT_MAX_STEPS;
    const char *color = "auto";
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "run") == 0) { o->cmd = CMD_RUN; i = 2; }
    else if (argc > 1 && strcmp(argv[1], "repl") == 0) { o->cmd = CMD_REPL; i = 2; }
    if (argc > 1 && strcmp(argv[1], "cache") == 0) return parse_cache_args(d, argc, argv);

    /* Resolve --color first so that usage errors are coloured as asked. */
    for (int k = i; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0) break;
        if (strncmp(argv[k], "--color=", 8) == 0) color = argv[k] + 8;
        else if (strcmp(argv[k], "--color") == 0 && k + 1 < argc) color = argv[k + 1];
    }
    if (strcmp(color, "always") == 0) o->color = true;
    else if (strcmp(color, "never") == 0) o->color = false;
    else {
        const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
        o->color = isatty(fileno(d->err)) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
        if (strcmp(color, "auto") != 0)
            return usage(d, "invalid value '%s' for --color (expected auto, always or never)", color);
    }

    bool only_files = false;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->cmd == CMD_REPL) return usage(d, "'repl' takes no script ('%s'); use (load \"%s\") inside it", a, a);
            if (o->input) return usage(d, "more than one input file ('%s' and '%s')", o->input, a);
            o->input = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_files = true; continue; }

        /* split --opt=value and -oFILE */
        char name[64];
        const char *val = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq) {
            size_t n = (size_t)(eq - a);
            if (n >= sizeof name) return unknown_option(d, a);
            memcpy(name, a, n);
            name[n] = 0;
            val = eq + 1;
        } else if (strncmp(a, "-o", 2) == 0 && a[2]) {
            strcpy(name, "-o");
            val = a + 2;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        const OptSpec *sp = find_spec(name);
        if (!sp || strlen(a) >= 4096) return unknown_option(d, a);
        if (sp->arg == ARG_NONE && val) return usage(d, "option '%s' takes no value", name);
        if (sp->arg == ARG_VALUE && !val) {
            if (i + 1 >= argc) return usage(d, "option '%s' needs a value", name);
            val = argv[++i];
        }
        /* the REPL is `run` one form at a time: it takes run's options,
         * but --save-tensors (at the end of what?) */
        bool repl = o->cmd == CMD_REPL;
        if (!(sp->cmds & (o->cmd == CMD_COMPILE ? FOR_COMPILE : FOR_RUN)) || (repl && !strcmp(name, "--save-tensors")))
            return usage(d, "option '%s' %s", name,
                         repl ? "is not valid with 'repl'" : o->cmd == CMD_RUN ? "is not valid with 'run'" : "is only valid with 'run'");

        if (strcmp(name, "-o") == 0) o->output = val;
        else if (strcmp(name, "--emit") == 0) {
            int k = 0;
            while (k < NEMIT && strcmp(val, emit_kinds[k]) != 0) k++;
            if (k == NEMIT) {
                const char *hint = name_closest(val, emit_kinds, NEMIT);
                if (hint) return usage(d, "unknown --emit kind '%s'; did you mean '%s'?", val, hint);
                return usage(d, "unknown --emit kind '%s' (expected ir, dot, weights, llvm, asm, obj, fusion, plan, kernels, opencl, metal, cuda or ptx)",
                             val);
            }
            o->emit = val;
        } else if (strcmp(name, "--entry") == 0) {
            if (o->nentries == DRV_MAX_ENTRIES) return usage(d, "too many --entry options (at most 16)");
            if (!*val) return usage(d, "--entry needs a function name");
            o->entries[o->nentries++] = val;
        } else if (strcmp(name, "--save-weights") == 0) o->save_weights = val;
        else if (strcmp(name, "--weights") == 0) o->weights = val;
        else if (strcmp(name, "--save-tensors") == 0) o->save_tensors = val;
        else if (strcmp(name, "--seed") == 0) {
            if (parse_u64(val, &o->seed) != 0)
                return usage(d, "invalid value '%s' for --seed (expected a non-negative integer)", val);
        } else if (strcmp(name, "--static") == 0) o->static_shapes = true;
        else if (strcmp(name, "--dynamic") == 0) {
            const char *colon = strrchr(val, ':');
            char *end = NULL;
            long ax = colon ? strtol(colon + 1, &end, 10) : 0;
            if (!colon || colon == val || !end || *end || end == colon + 1 || ax < -8 || ax > 7)
                return usage(d, "invalid value '%s' for --dynamic (expected NAME:AXIS, e.g. mask:3)", val);
            if (o->ndyn == 16) return usage(d, "too many --dynamic options (at most 16)");
            size_t len = (size_t)(colon - val);
            if (len >= sizeof o->dyn_buf[0]) return usage(d, "--dynamic: input name '%.*s' is too long", (int)len, val);
            memcpy(o->dyn_buf[o->ndyn], val, len);
            o->dyn_buf[o->ndyn][len] = 0;
            o->dyn_name[o->ndyn] = o->dyn_buf[o->ndyn];
            o->dyn_axis[o->ndyn++] = (int)ax;
        }
        else if (strcmp(name, "--train") == 0) o->training = true;
        else if (strcmp(name, "--interpret") == 0) o->interpret = true;
        else if (strcmp(name, "--strict") == 0) o->strict = true;
        else if (strcmp(name, "--no-cache") == 0) o->no_cache = true;
        else if (strcmp(name, "--jit") == 0) {
            if (strcmp(val, "functions") == 0) o->jit_regions_only = false;
            else if (strcmp(val, "regions") == 0) o->jit_regions_only = true;
            else return usage(d, "invalid value '%s' for --jit (expected 'functions' or 'regions')", val);
        }
        else if (name[0] == '-' && name[1] == 'O') o->opt_level = name[2] - '0';
        else if (strcmp(name, "-v") == 0 || strcmp(name, "--verbose") == 0) o->verbose = true;
        else if (strcmp(name, "--time-passes") == 0) o->time_passes = true;
        else if (strcmp(name, "--color") == 0) { /* resolved above */ }
        else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) o->help = true;
        else if (strcmp(name, "--version") == 0) o->version = true;
        else if (strcmp(name, "--no-fuse") == 0) {
            if (o->nno_fuse == DRV_MAX_ENTRIES) return usage(d, "too many --no-fuse options");
            if (check_pass_name(d, "--no-fuse", val, false) != 0) return EXIT_USAGE;
            o->no_fuse[o->nno_fuse++] = val;
        } else if (strcmp(name, "--dump-after") == 0) {
            if (check_pass_name(d, "--dump-after", val, true) != 0) return EXIT_USAGE;
            o->dump_after = val;
        }
        else if (strcmp(name, "--target") == 0) {
            if (check_backend_name(d, val) != 0) return EXIT_USAGE;
            o->target = val;
        } else if (strcmp(name, "--dtype") == 0) {
            static const char *const dts[] = {"f32", "bf16", "f16"};
            static const DType dtv[] = {DT_F32, DT_BF16, DT_F16};
            int k = 0;
            while (k < 3 && strcmp(val, dts[k]) != 0) k++;
            if (k == 3) {
                const char *hint = name_closest(val, dts, 3);
                if (hint) return usage(d, "unknown dtype '%s' for --dtype; did you mean '%s'? (expected f32, bf16 or f16)", val, hint);
                return usage(d, "unknown dtype '%s' for --dtype (expected f32, bf16 or f16)", val);
            }
            o->dtype = dtv[k];
            o->dtype_name = dts[k];
        }
        else if (strcmp(name, "--cpu") == 0) o->cpu = val;
        else if (strcmp(name, "--features") == 0) o->features = val;
        else if (strcmp(name, "--gpu-arch") == 0) o->gpu_arch = val;
        else if (strcmp(name, "--embed-weights") == 0) o->embed_weights = true;
        else if (strcmp(name, "--check") == 0) o->check = true;
        else if (strcmp(name, "--depfile") == 0) {
            if (!*val) return usage(d, "--depfile needs a file name");
            o->depfile = val;
        }
        else if (strcmp(name, "--threads") == 0) {
            uint64_t n;
            if (parse_u64(val, &n) != 0 || n > 1024)
                return usage(d, "invalid value '%s' for --threads (expected 0..1024; 0 = all cores)", val);
            o->threads = (int)n;
        } else if (strcmp(name, "--max-steps") == 0) {
            if (parse_u64(val, &o->max_steps) != 0)
                return usage(d, "invalid value '%s' for --max-steps (expected a non-negative integer; 0 = no limit)", val);
        } else if (strcmp(name, "--timeout") == 0) {
            char *end;
            errno = 0;
            double t = strtod(val, &end);
            /* a week at most: the deadline must stay a finite time */
            if (!*val || *end || errno || !(t >= 0 && t <= 604800))
                return usage(d, "invalid value '%s' for --timeout (expected seconds, 0..604800; 0 = no limit)", val);
            o->timeout_s = t;
        } else if (strcmp(name, "--max-memory") == 0) {
            uint64_t mb;
            if (parse_u64(val, &mb) != 0 || mb > (SIZE_MAX >> 20))
                return usage(d, "invalid value '%s' for --max-memory (expected megabytes; 0 = no limit)", val);
            o->max_memory_mb = mb;
        }
    }
    if (o->help || o->version) return 0;
    if (check_target(d, o->cpu, o->features) != 0) return EXIT_USAGE;
    if (o->gpu_arch && (!o->target || strcmp(o->target, "cuda") != 0))
        return usage(d, "--gpu-arch is for --target cuda (the target is %s)", o->target ? o->target : "cpu");
    if (o->dtype != DT_F32) {
#ifdef HAVE_LLVM_C
        if (!backend_stores_dtype(o->target, o->dtype_name))
            return usage(d, "--dtype %s: the %s target does not store %s data (codegen/backends.def)",
                         o->dtype_name, o->target ? o->target : BACKEND_DEFAULT, o->dtype_name);
#else
        return usage(d, "--dtype %s: no code generator in this build", o->dtype_name);
#endif
    }
    /* --interpret computes everything in the interpreter by request:
     * nothing would be left for --strict to refuse, which would hide it */
    if (o->strict && o->interpret) return usage(d, "--strict and --interpret contradict each other");
    if (o->cmd == CMD_REPL) return 0;
    if (o->input && strcmp(o->input, "-") == 0 && o->cmd != CMD_RUN)
        return usage(d, "'-' (the script from standard input) is for 'run -'; give the model as a file");
    if (!o->input)
        return usage(d, "no input file (usage: %s)",
                     o->cmd == CMD_RUN ? "lispetorchc run script.lsp" : "lispetorchc [options] model.lsp");
    /* --check writes nothing: an option asking for an output contradicts it */
    if (o->check) {
        const char *w = o->output ? "-o" : o->emit ? "--emit" : o->save_weights ? "--save-weights"
                      : o->depfile ? "--depfile" : o->embed_weights ? "--embed-weights" : NULL;
        if (w) return usage(d, "--check writes nothing: '%s' is not valid with it", w);
    }
    /* the rule's target is the output file: text on stdout has none */
    if (o->depfile && o->emit && strcmp(o->emit, "weights") != 0 && (!o->output || strcmp(o->output, "-") == 0))
        return usage(d, "--depfile needs an output file: give --emit %s an -o FILE", o->emit);
    if (o->emit && strcmp(o->emit, "weights") == 0 && (!o->output || strcmp(o->output, "-") == 0))
        return usage(d, "--emit weights writes a binary file: give it with -o FILE");
    return 0;
}
